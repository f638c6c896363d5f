"""The write use cases: check the input, find the member, check access, run the rule inside
one transaction, and hand back what was committed. No GraphQL here and no business rule:
the rules are in loyalty/, the atomicity in db/commit.py.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from db import ids
from db.audit import AuditNote
from db.commit import Committed, IdempotencyKey, IdentifierTaken, fingerprint
from db.reads import Seen
from db.tx_reads import TxReads
from loyalty import enrollment, purchases, rewards
from loyalty.changes import Context, Outcome
from loyalty.errors import DomainError, ErrorCode
from loyalty.identity import normalise
from loyalty.model import IdentifierKind, Member, Profile
from loyalty.money import check_currency, parse_amount
from loyalty.program import Channel
from resolvers import refusals
from resolvers.access import STORE_ROLES, Role, Viewer, allowed
from resolvers.context import Services

MAX_IDENTIFIERS = 10
MAX_LINES = 500
MAX_KEY = 200
MAX_ORDER_ID = 100
MAX_ATTRIBUTES = 4096  # characters of an activity's attributes JSON
MAX_REFERRAL_CHAIN = 50
CLOCK_SKEW = timedelta(minutes=5)
AUDITED_ROLES = frozenset({Role.AGENT, Role.ADMIN, Role.SERVICE})
ALWAYS_AUDITED = frozenset({"linkIdentifier", "unlinkIdentifier", "mergeMembers", "unmergeMember"})
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread at a till


def invalid(message: str, *field: str) -> DomainError:
    return DomainError(ErrorCode.INVALID_INPUT, message, ("input", *field))


def check_text(value: str, limit: int, *field: str) -> str:
    text = value.strip()
    if not text or len(text) > limit:
        raise invalid(f"give 1 to {limit} characters", *field)
    return text


def check_at(at: datetime | None, now: datetime, *field: str) -> datetime:
    if at is None:
        return now
    if at.tzinfo is None:
        raise invalid("give a time zone (e.g. Z)", *field)
    if at > now + CLOCK_SKEW:
        raise invalid("the time is in the future", *field)
    return at.astimezone(UTC)


def reward_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))


@dataclass(frozen=True)
class PurchaseLine:
    sku: str
    quantity: int
    unit_price: str
    category: str | None = None


class Commands:
    def __init__(
        self, services: Services, viewer: Viewer, now: datetime, request_id: str | None = None
    ) -> None:
        self._s = services
        self._viewer = viewer
        self._now = now
        self._request_id = request_id
        self._operation: str | None = None  # set by _authorise: what the audit trail names
        self._seen: Seen | None = None  # set by _member: what the write can start from

    def _ctx(self, channel: Channel | None = None, store_id: str | None = None) -> Context:
        return Context(
            now=self._now, actor=self._viewer.subject, channel=channel, store_id=store_id
        )

    def _idem(self, field: str, key: str | None, request: dict[str, Any]) -> IdempotencyKey | None:
        if key is None:
            return None
        key = check_text(key, MAX_KEY, "idempotencyKey")
        return IdempotencyKey(field, self._viewer.subject, key, fingerprint(request))

    def _store(self, store_id: str | None) -> str | None:
        """The store a till acts at: the one given, or its only store."""
        if (
            store_id is None
            and len(self._viewer.store_ids) == 1
            and self._viewer.role in STORE_ROLES
        ):
            return next(iter(self._viewer.store_ids))
        return store_id

    async def _member(
        self, operation: str, member_id: str, store_id: str | None, *field: str
    ) -> Member:
        """The member addressed, checked in the contract's order: NOT_FOUND, then FORBIDDEN."""
        seen = (
            await self._s.reads.seen_member(member_id)
            if ids.kind_of(member_id) == ids.MEMBER
            else None
        )
        if seen is None:
            raise DomainError(
                ErrorCode.NOT_FOUND, "no such member", ("input", *(field or ("memberId",)))
            )
        member = seen.member
        # A merged member's id leads to its survivor; a token of the merged member still acts
        # for the person it now is.
        own = self._viewer.member_id == member_id
        await self._authorised(operation, member_id if own else member.id, store_id)
        self._seen = seen
        return member

    async def _authorised(
        self, operation: str, member_id: str | None, store_id: str | None
    ) -> None:
        """_authorise, with a refusal recorded on the audit trail."""
        try:
            self._authorise(operation, member_id, store_id)
        except DomainError as error:
            if error.code is ErrorCode.FORBIDDEN:
                await refusals.record(
                    self._s, self._viewer, operation, member_id, self._request_id, self._now
                )
            raise

    def _authorise(self, operation: str, member_id: str | None, store_id: str | None) -> None:
        self._operation = operation
        if not allowed(self._viewer, operation, member_id, store_id):
            raise DomainError(
                ErrorCode.FORBIDDEN, f"{self._viewer.role.value} may not do this here"
            )
        if self._viewer.role in STORE_ROLES and store_id is None:
            raise invalid("a till must say which of its stores it acts at", "storeId")

    def _audit_note(self, reason: str | None) -> AuditNote | None:
        """Back-office writes and every identity change go on the audit trail."""
        operation = self._operation
        if operation is None:
            return None
        if self._viewer.role not in AUDITED_ROLES and operation not in ALWAYS_AUDITED:
            return None
        return AuditNote(
            operation, self._viewer.subject, self._viewer.role.value, self._request_id, reason
        )

    async def _commit(
        self,
        member_id: str | None,
        decide: Any,
        idem: IdempotencyKey | None,
        field: tuple[str, ...],
        *,
        reason: str | None = None,
    ) -> Committed:
        # The member _member read for the checks: the transaction starts from it (once).
        seen, self._seen = self._seen, None
        try:
            return await self._s.writer.commit(
                member_id,
                decide,
                idem,
                self._viewer.subject,
                self._audit_note(reason),
                seen=seen,
            )
        except IdentifierTaken as taken:
            raise DomainError(
                ErrorCode.IDENTIFIER_TAKEN,
                f"this {taken.kind.value} already belongs to another member",
                field,
            ) from None

    async def enroll(
        self,
        *,
        identifiers: Sequence[tuple[IdentifierKind, str]],
        channel: Channel,
        first_name: str | None,
        last_name: str | None,
        birthday: str | None,
        store_id: str | None,
        consents: dict[str, bool | None] | None,
        referred_by: str | None,
        idempotency_key: str | None,
        request: dict[str, Any],
    ) -> Committed:
        store_id = self._store(store_id)
        await self._authorised("enrollMember", None, store_id)
        if not identifiers:
            raise invalid("at least one identifier is needed", "identifiers")
        if len(identifiers) > MAX_IDENTIFIERS:
            raise invalid(f"at most {MAX_IDENTIFIERS} identifiers", "identifiers")
        region = self._s.program.default_phone_region
        normalised: list[tuple[IdentifierKind, str]] = []
        for index, (kind, value) in enumerate(identifiers):
            clean = normalise(kind, value, region, ("input", "identifiers", str(index), "value"))
            if (kind, clean) not in normalised:
                normalised.append((kind, clean))
        profile = Profile(
            first_name=enrollment.clean_name(first_name, ("input", "firstName")),
            last_name=enrollment.clean_name(last_name, ("input", "lastName")),
            birthday=enrollment.parse_birthday(birthday, self._now.date(), ("input", "birthday")),
            preferred_store_id=store_id,
            consents=enrollment.merge_consents(Profile().consents, consents),
        )
        member_id = ids.new_id(ids.MEMBER)
        if referred_by is not None:
            await self._check_referrer(member_id, referred_by, normalised)
        idem = self._idem("enrollMember", idempotency_key, request)
        ctx = self._ctx(channel, store_id)
        program = self._s.program

        async def decide(_: Member | None, __: TxReads) -> Outcome:
            return enrollment.enroll(member_id, normalised, profile, program, ctx, referred_by)

        return await self._commit(None, decide, idem, ("input", "identifiers"))

    async def _check_referrer(
        self, member_id: str, referred_by: str, identifiers: list[tuple[IdentifierKind, str]]
    ) -> None:
        referrer = (
            await self._s.reads.member(referred_by)
            if ids.kind_of(referred_by) == ids.MEMBER
            else None
        )
        if referrer is None:
            raise invalid("no member has this id", "referredBy")
        if {(i.kind, i.value) for i in referrer.identifiers} & set(identifiers):
            raise invalid("a member cannot refer themselves", "referredBy")
        chain: list[str] = []
        up = referrer.referred_by
        while up is not None and up not in chain and len(chain) < MAX_REFERRAL_CHAIN:
            chain.append(up)
            found = await self._s.reads.member(up)
            up = found.referred_by if found else None
        purchases.check_referral(member_id, referrer.id, chain)

    async def update_profile(
        self,
        member_id: str,
        *,
        first_name: str | None,
        last_name: str | None,
        birthday: str | None,
        preferred_channel: Channel | None,
        preferred_store_id: str | None,
        consents: dict[str, bool | None] | None,
    ) -> Committed:
        await self._member("updateProfile", member_id, None)
        # Checked before the transaction, so bad input costs no write.
        changes = enrollment.profile_changes(
            first_name=first_name,
            last_name=last_name,
            birthday=birthday,
            preferred_channel=preferred_channel,
            preferred_store_id=preferred_store_id,
            consents=consents,
            today=self._now,
        )
        ctx = self._ctx()

        async def decide(member: Member | None, _: TxReads) -> Outcome:
            assert member is not None
            profile = enrollment.apply_changes(member.profile, changes)
            return enrollment.update_profile(member, profile, ctx)

        return await self._commit(member_id, decide, None, ("input",))

    async def record_purchase(
        self,
        member_id: str,
        *,
        amount: str,
        currency_code: str,
        channel: Channel,
        store_id: str | None,
        order_id: str,
        lines: Sequence[PurchaseLine] | None,
        occurred_at: datetime | None,
        idempotency_key: str,
        request: dict[str, Any],
    ) -> Committed:
        store_id = self._store(store_id)
        await self._member("recordPurchase", member_id, store_id)
        program = self._s.program
        check_currency(currency_code, program, ("input", "currencyCode"))
        value = parse_amount(amount, program, ("input", "amount"))
        order = check_text(order_id, MAX_ORDER_ID, "orderId")
        when = check_at(occurred_at, self._now, "occurredAt")
        _check_lines(lines)
        idem = self._idem("recordPurchase", idempotency_key, request)
        assert idem is not None
        ctx = self._ctx(channel, store_id)
        categories = tuple(
            (line.category.strip().lower(), line.quantity)
            for line in lines or ()
            if line.category and line.category.strip()
        )

        async def decide(member: Member | None, _: TxReads) -> Outcome:
            assert member is not None
            return purchases.record_purchase(member, value, order, when, program, ctx, categories)

        return await self._commit(member_id, decide, idem, ("input",))

    async def redeem_reward(
        self,
        member_id: str,
        *,
        reward_id: str,
        channel: Channel,
        store_id: str | None,
        idempotency_key: str,
        request: dict[str, Any],
    ) -> Committed:
        store_id = self._store(store_id)
        await self._member("redeemReward", member_id, store_id)
        program = self._s.program
        slug = ids.reward_slug(reward_id)
        reward = program.reward(slug) if slug else None
        if reward is None:
            raise DomainError(ErrorCode.NOT_FOUND, "no such reward", ("input", "rewardId"))
        idem = self._idem("redeemReward", idempotency_key, request)
        ctx = self._ctx(channel, store_id)
        code = reward_code()

        async def decide(member: Member | None, _: TxReads) -> Outcome:
            assert member is not None
            return rewards.redeem(member, reward, code, program, ctx)

        return await self._commit(member_id, decide, idem, ("input",))

    async def use_issued_reward(
        self,
        issued_id: str,
        *,
        channel: Channel,
        store_id: str | None,
        idempotency_key: str,
        request: dict[str, Any],
    ) -> Committed:
        store_id = self._store(store_id)
        field = ("input", "issuedRewardId")
        issued = (
            await self._s.reads.issued_reward(issued_id)
            if ids.kind_of(issued_id) == ids.ISSUED
            else None
        )
        if issued is None:
            raise DomainError(ErrorCode.NOT_FOUND, "no such issued reward", field)
        await self._member("useIssuedReward", issued.member_id, store_id, "issuedRewardId")
        program = self._s.program
        idem = self._idem("useIssuedReward", idempotency_key, request)
        ctx = self._ctx(channel, store_id)

        async def decide(member: Member | None, tx: TxReads) -> Outcome:
            assert member is not None
            current = await tx.issued_reward(issued_id)
            assert current is not None
            reward = program.reward(current.reward_id)
            if reward is None:
                raise DomainError(ErrorCode.REWARD_UNAVAILABLE, "no longer in the catalogue", field)
            return rewards.use_issued(member, current, reward, ctx)

        return await self._commit(issued.member_id, decide, idem, field)


def _check_lines(lines: Sequence[PurchaseLine] | None) -> None:
    if not lines:
        return
    if len(lines) > MAX_LINES:
        raise invalid(f"at most {MAX_LINES} lines", "lines")
    for index, line in enumerate(lines):
        where = ("lines", str(index))
        check_text(line.sku, 100, *where, "sku")
        if not 0 < line.quantity <= 100_000:
            raise invalid("quantity must be 1 to 100000", *where, "quantity")
        if line.category is not None and len(line.category) > 100:
            raise invalid("at most 100 characters", *where, "category")
        try:
            price = Decimal(line.unit_price)
        except InvalidOperation:
            raise invalid("not a decimal amount", *where, "unitPrice") from None
        if not price.is_finite() or price < 0:
            raise invalid("a price is zero or more", *where, "unitPrice")
