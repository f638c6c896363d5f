"""A member with a long history reads and earns as fast as a new one.

    .venv/bin/python benchmarks/bench_points.py [--quick]

Starts its own embedded Mongo-wire server (in memory) and the service's own objects in this
process (no HTTP: the point is what a member's history costs, not the transport). Builds a
member through the real rules with 10,000 ledger entries and 500 open points lots (500
purchases kept, 4,750 purchases each reversed), one with 10,000 entries and no open lot, one
with 30 entries (a full page) and no open lot, and a new member, then measures them in turn,
one request at a time:

  read   GraphQL member { balance (with expiringSoon over the lots), tier, challenges,
         activity(first: 20) } executed on the served schema
  earn   recordPurchase through the same use case as the API (one transaction, idempotency
         record, ledger entry, member update)

and prints p50/p95 per member and the ratio to the new member (the floor, measured in the
same run), plus the raw driver's find_one of each document.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sys
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bson  # noqa: E402
from bench_stats import percentile  # noqa: E402

from api.app import create_app  # noqa: E402
from db import ids  # noqa: E402
from db.codec import entry_to_doc  # noqa: E402
from db.embedded import EmbeddedMongo  # noqa: E402
from loyalty import purchases, returns  # noqa: E402
from loyalty.changes import Context as RuleContext  # noqa: E402
from loyalty.changes import Outcome, entry_seq  # noqa: E402
from loyalty.model import IdentifierKind, LedgerEntry, Member  # noqa: E402
from loyalty.program import Channel  # noqa: E402
from resolvers.access import Role, Viewer  # noqa: E402
from resolvers.commands import Commands  # noqa: E402
from resolvers.context import Context, Loaders, Services, utc_now  # noqa: E402
from schema.build import build_schema  # noqa: E402
from settings import Settings  # noqa: E402

READ = """query($id: ID!) { member(id: $id) {
  id version balance { available pending lifetime expiringSoon { points expiresAt } }
  tier { current { id } qualifyingPoints pointsToNext progress }
  challenges { challengeId progress goal completed }
  activity(first: 20) { edges { node { id kind points } } } } }"""

ADMIN = Viewer("bench-admin", Role.ADMIN)
LABELS = ("big", "long", "short", "new")


def history(
    member: Member, services: Services, lots: int, pairs: int
) -> tuple[Member, list[LedgerEntry]]:
    """`lots` purchases kept and `pairs` purchases reversed, through the real rules."""
    program = services.program
    start = utc_now() - timedelta(days=300)
    entries: list[LedgerEntry] = []
    step = timedelta(days=300) / (lots + 2 * pairs)

    def commit(outcome: Outcome, now: datetime) -> None:
        nonlocal member
        for position, draft in enumerate(outcome.entries):
            seq = entry_seq(outcome.member.version, position)
            entries.append(
                LedgerEntry(
                    id=ids.new_id(ids.ENTRY), member_id=member.id, seq=seq, kind=draft.kind,
                    points=draft.points, balance_after=draft.balance_after, channel=draft.channel,
                    store_id=draft.store_id, description=draft.description, reason=draft.reason,
                    occurred_at=draft.occurred_at, recorded_at=now, status=draft.status,
                    available_at=draft.available_at, actor="bench", order_id=draft.order_id,
                    amount=draft.amount, reverses=draft.reverses,
                )
            )  # fmt: skip
        for mark in outcome.marks:
            index = next(i for i, e in enumerate(entries) if e.id == mark.entry_id)
            made = entries[-len(outcome.entries) :]
            entries[index] = replace(entries[index], reversed_by=made[mark.reversed_by or 0].id)
        member = outcome.member

    now = start
    for i in range(lots + pairs):
        now += step
        ctx = RuleContext(now=now, actor="bench", channel=Channel.POS, store_id="store-001")
        order = f"H-{i}"
        commit(purchases.record_purchase(member, Decimal("3.00"), order, now, program, ctx), now)
        if i >= lots:
            now += step
            earn = entries[-1]
            commit(returns.reverse_entry(member, earn, [], "bench", program, ctx), now)
    return member, entries


async def run(args: argparse.Namespace) -> None:
    rounds = 30 if args.quick else 300
    lots, pairs = (500, 4750) if not args.quick else (500, 750)
    settings = Settings(
        mongodb_database=f"bench_{uuid.uuid4().hex[:8]}", jobs_interval_seconds=0,
        log_level="WARNING",
    )  # fmt: skip
    print("points benchmark: a member with a long history vs a new one")
    print(f"date        {datetime.now(UTC).isoformat(timespec='seconds')}")
    machine = f"{platform.platform()} ({platform.machine()})"
    print(f"machine     {machine}, python {platform.python_version()}")
    with EmbeddedMongo(":memory:") as embedded:
        app = create_app(settings, embedded.uri, retry_writes=False)
        async with app.router.lifespan_context(app):
            services: Services = app.state.services
            commands = Commands(services, ADMIN, utc_now())
            ids_ = []
            for label in LABELS:
                done = await commands.enroll(
                    identifiers=[(IdentifierKind.EMAIL, f"{label}-{uuid.uuid4().hex[:8]}@b.io")],
                    channel=Channel.APP, first_name=label, last_name=None, birthday=None,
                    store_id=None, consents=None, referred_by=None, idempotency_key=None,
                    request={},
                )  # fmt: skip
                ids_.append(done.member.id)
            big_id, long_id, short_id, new_id = ids_
            c = services.reads.collections
            # big: the member; long: as many entries but no open lot (every purchase
            # reversed), to tell what the history costs from what the lots cost.
            # short: 30 entries, enough to fill the page the read asks for, so long/short is
            # what the length of the history costs.
            shapes = {
                big_id: ("big", lots, pairs),
                long_id: ("long", 0, (lots + 2 * pairs) // 2),
                short_id: ("short", 0, 15),
            }
            for member_id, (label, kept, reversed_) in shapes.items():
                began = time.perf_counter()
                seen = await services.reads.seen_member(member_id)
                assert seen is not None
                grown, entries = history(seen.member, services, kept, reversed_)
                # Written like any change: its write count goes up (db/reads.py WRITES).
                doc = services.writer._doc(grown, (seen.writes or 0) + 1)
                await c.members.replace_one({"_id": member_id}, doc)
                for chunk in range(0, len(entries), 2000):
                    batch = entries[chunk : chunk + 2000]
                    await c.ledger.insert_many([entry_to_doc(e) for e in batch])
                print(
                    f"{label:5s} member {len(entries)} ledger entries, {len(grown.lots)} open "
                    f"lots, member document {len(bson.encode(doc)) / 1024:.1f} KiB (BSON), "
                    f"built in {time.perf_counter() - began:.1f} s"
                )
            new_doc = await c.members.find_one({"_id": new_id})
            print(f"new   member document {len(bson.encode(new_doc or {})) / 1024:.1f} KiB (BSON)")
            schema = build_schema()
            times: dict[str, list[float]] = {}

            async def read(member_id: str) -> float:
                context = Context(services=services, viewer=ADMIN, request_id="bench",
                                  loaders=Loaders(services.reads))  # fmt: skip
                t0 = time.perf_counter()
                result = await schema.execute(READ, {"id": member_id}, context_value=context)
                took = time.perf_counter() - t0
                assert not result.errors, result.errors
                return took

            async def earn(member_id: str) -> float:
                use = Commands(services, ADMIN, utc_now())
                t0 = time.perf_counter()
                await use.record_purchase(
                    member_id, amount="12.34", currency_code="EUR", channel=Channel.POS,
                    store_id="store-001", order_id=f"B-{uuid.uuid4().hex[:12]}", lines=None,
                    occurred_at=None, idempotency_key=uuid.uuid4().hex, request={},
                )  # fmt: skip
                return time.perf_counter() - t0

            async def find(member_id: str) -> float:
                t0 = time.perf_counter()
                await c.members.find_one({"_id": member_id})
                return time.perf_counter() - t0

            operations = (("read", read), ("earn", earn), ("find_one", find))
            for name, op in operations:
                for _ in range(5):  # warm-up
                    for member_id in ids_:
                        await op(member_id)
                for _ in range(rounds):  # alternate, so machine noise hits all alike
                    for label, member_id in zip(LABELS, ids_, strict=True):
                        times.setdefault(f"{name} {label}", []).append(await op(member_id))
            print(f"rounds      {rounds} per member and operation, sequential, alternating")
            for name, _ in operations:
                floor = times[f"{name} new"]
                for label in LABELS:
                    t = times[f"{name} {label}"]
                    ratio = percentile(t, 50) / percentile(floor, 50)
                    print(
                        f"  {name:9s} {label:5s} p50 {percentile(t, 50) * 1000:7.2f} ms  "
                        f"p95 {percentile(t, 95) * 1000:7.2f} ms   /new p50 {ratio:.2f}"
                    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer entries and rounds")
    asyncio.run(run(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
