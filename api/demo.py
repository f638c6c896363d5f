"""Demo data for `make run`: a few members enrolled and buying through the real write path."""

from __future__ import annotations

import logging

from db.commit import Committed
from loyalty.errors import DomainError, ErrorCode
from loyalty.model import IdentifierKind
from loyalty.program import ActivityKind, Channel
from resolvers.access import Role, Viewer
from resolvers.context import Services, utc_now
from resolvers.points_commands import PointsCommands

log = logging.getLogger("demo")

DEMO_STORE = "store-001"
DEMO_MEMBERS = [
    ("Ada", "Lovelace", "ada@example.com", "+31612345678", "4000000000001", ["120.00", "410.50"]),
    ("Grace", "Hopper", "grace@example.com", "+31687654321", "4000000000002", ["2150.00"]),
    ("Alan", "Turing", "alan@example.com", "+447911123456", "4000000000003", ["35.99"]),
]


async def seed(services: Services) -> list[str]:
    """Enrol the demo members once; running it again changes nothing. Returns their ids."""
    viewer = Viewer("demo-seed", Role.ADMIN)
    commands = PointsCommands(services, viewer, utc_now())
    member_ids: list[str] = []
    for first, last, email, phone, card, purchases in DEMO_MEMBERS:
        existing = await services.reads.member_id_by_identifier(IdentifierKind.EMAIL, email)
        if existing:
            member_ids.append(existing)
            continue
        try:
            done: Committed = await commands.enroll(
                identifiers=[
                    (IdentifierKind.EMAIL, email),
                    (IdentifierKind.PHONE, phone),
                    (IdentifierKind.LOYALTY_CARD, card),
                ],
                channel=Channel.POS,
                first_name=first,
                last_name=last,
                birthday=None,
                store_id=DEMO_STORE,
                consents={"email": True, "sms": False, "push": True, "personalization": True},
                # Alan joins through Ada: his welcome bonus now, hers with his first purchase.
                referred_by=member_ids[0] if first == "Alan" and member_ids else None,
                idempotency_key=f"demo-enroll-{card}",
                request={"card": card},
            )
        except DomainError as error:
            if error.code is ErrorCode.IDENTIFIER_TAKEN:
                continue
            raise
        member_ids.append(done.member.id)
        for index, amount in enumerate(purchases):
            await commands.record_purchase(
                done.member.id,
                amount=amount,
                currency_code=services.program.currency,
                channel=Channel.POS,
                store_id=DEMO_STORE,
                order_id=f"DEMO-{card}-{index}",
                lines=None,
                occurred_at=None,
                idempotency_key=f"demo-purchase-{card}-{index}",
                request={"card": card, "index": index},
            )
        if first == "Ada":
            for kind in (ActivityKind.APP_DOWNLOAD, ActivityKind.STORE_VISIT):
                await commands.record_activity(
                    done.member.id,
                    kind=kind,
                    channel=Channel.APP,
                    store_id=DEMO_STORE,
                    attributes=None,
                    occurred_at=None,
                    idempotency_key=f"demo-activity-{card}-{kind.value}",
                    request={"card": card, "kind": kind.value},
                )
    log.info("demo.seeded", extra={"members": len(member_ids)})
    return member_ids
