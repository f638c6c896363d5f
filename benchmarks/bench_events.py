"""What a member event costs to build and to read in each bus format: binary (BSON, what this
release writes) and extended JSON (`bson.json_util`, earlier releases' format), for one purchase
of a member with three identifiers and a full profile. The floor measured in the same run is
the member's own document conversion (`member_to_doc` / `member_from_doc`), which every format
needs.

    .venv/bin/python benchmarks/bench_events.py [--rounds N]
"""

from __future__ import annotations

import argparse
import platform
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bench_crypto import demo_program, sample_member
from bench_procs import import_service
from bench_stats import per_call_us


def sample_change() -> Any:
    """A purchase's committed change, as the writer hands it to the outbox."""
    program_module = import_service("loyalty.program")
    changes = import_service("loyalty.changes")
    purchases = import_service("loyalty.purchases")
    model = import_service("loyalty.model")
    commit = import_service("db.commit")
    program = demo_program()
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    ctx = changes.Context(now=now, actor="bench", channel=program_module.Channel.POS)
    outcome = purchases.record_purchase(sample_member(), Decimal("42.50"), "o-1", now, program, ctx)
    draft = outcome.entries[0]
    entry = model.LedgerEntry(
        id="led_bench", member_id=outcome.member.id, seq=outcome.member.version * 16,
        kind=draft.kind, points=draft.points, balance_after=draft.balance_after,
        channel=draft.channel, store_id="store-001", description=draft.description,
        reason=None, occurred_at=now, recorded_at=now, status=draft.status,
        available_at=draft.available_at, actor="bench", order_id="o-1", amount="42.50",
    )  # fmt: skip
    return commit.Committed(outcome.member, outcome.changes, (entry,), None, "store-001")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5000)
    rounds = parser.parse_args().rounds
    events = import_service("subscriptions.events")
    codec = import_service("db.codec")
    done = sample_change()
    binary, text = events.encode(done, "binary"), events.encode(done, "json")
    stamped = events.stamped(binary)
    doc = codec.member_to_doc(done.member)
    rows: list[tuple[str, float]] = [
        ("floor: member_to_doc", per_call_us(rounds, lambda: codec.member_to_doc(done.member))),
        ("encode json", per_call_us(rounds, lambda: events.encode(done, "json"))),
        ("encode binary + stamp", per_call_us(rounds, lambda: events.stamped(events.encode(done)))),
        ("floor: member_from_doc", per_call_us(rounds, lambda: codec.member_from_doc(doc))),
        ("decode json", per_call_us(rounds, lambda: events.decode(text))),
        ("decode binary", per_call_us(rounds, lambda: events.decode(stamped))),
    ]
    print(f"{platform.node()} {platform.processor() or platform.machine()}, {rounds} rounds")
    print(f"message size: json {len(text.encode())} bytes, binary {len(binary)} bytes")
    by_name = dict(rows)
    for name, us in rows:
        print(f"  {name:24s} {us:8.1f} us")
    print(
        f"  encode: json / binary {by_name['encode json'] / by_name['encode binary + stamp']:.2f}x;"
        f" over the floor: json {by_name['encode json'] - by_name['floor: member_to_doc']:.1f} us,"
        f" binary {by_name['encode binary + stamp'] - by_name['floor: member_to_doc']:.1f} us"
    )
    print(
        f"  decode: json / binary {by_name['decode json'] / by_name['decode binary']:.2f}x;"
        f" over the floor: json {by_name['decode json'] - by_name['floor: member_from_doc']:.1f}"
        f" us, binary {by_name['decode binary'] - by_name['floor: member_from_doc']:.1f} us"
    )


if __name__ == "__main__":
    main()
