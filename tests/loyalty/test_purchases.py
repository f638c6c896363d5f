"""purchases: points = floor(amount x earn rate x multiplier of the tier held when buying)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.changes import Context, Outcome
from loyalty.enrollment import enroll
from loyalty.errors import DomainError, ErrorCode
from loyalty.model import (
    ChangeKind,
    IdentifierKind,
    LedgerEntryKind,
    LedgerEntryStatus,
    Member,
    Profile,
)
from loyalty.money import parse_amount
from loyalty.program import INT32_MAX, Channel, ProgramDef, parse_program
from loyalty.purchases import purchase_points, record_purchase

WINDOWED = parse_program(
    """
[program]
name = "Returns"
currency = "EUR"
point_value = "0.01"
earn_rate = "2"
return_window_days = 14
max_purchase_amount = "5000.00"

[[tiers]]
id = "basic"
name = "Basic"
threshold = 0
earn_multiplier = "1"

[[tiers]]
id = "plus"
name = "Plus"
threshold = 1000
earn_multiplier = "1.1"
"""
)


def enrolled(program: ProgramDef, at: datetime) -> Member:
    ctx = Context(now=at, actor="test", channel=Channel.WEB)
    return enroll("m-p", [(IdentifierKind.LOYALTY_CARD, "123456")], Profile(), program, ctx).member


def at_tier(member: Member, tier_id: str, qualifying: int) -> Member:
    """The member holding `tier_id` with `qualifying` points earned this month (T0's)."""
    months = (("2025-03", qualifying),) if qualifying else ()
    tier = replace(member.tier, tier_id=tier_id, qualifying_points=qualifying, months=months)
    return replace(member, tier=tier)


def buy(
    member: Member, amount: str, program: ProgramDef, ctx: Context, order: str = "o-1"
) -> Outcome:
    return record_purchase(member, Decimal(amount), order, ctx.now, program, ctx)


@pytest.mark.parametrize(
    ("amount", "tier_id", "points"),
    [
        ("10.99", "member", 10),
        ("10.99", "silver", 13),
        ("99.99", "gold", 149),
        ("0.99", "member", 0),
        ("1.00", "member", 1),
        ("0.80", "silver", 1),
        ("0.79", "silver", 0),
        ("10000.00", "gold", 15000),
    ],
)
def test_purchase_points_floor(demo: ProgramDef, amount: str, tier_id: str, points: int) -> None:
    assert purchase_points(Decimal(amount), demo, tier_id) == points


def test_purchase_points_use_the_earn_rate() -> None:
    assert purchase_points(Decimal("10.99"), WINDOWED, "basic") == 21  # 21.98
    assert purchase_points(Decimal("10.99"), WINDOWED, "plus") == 24  # 24.178


@given(
    cents=st.integers(min_value=1, max_value=1_000_000),
    tier=st.sampled_from(["member", "silver", "gold"]),
)
def test_purchase_points_match_exact_integer_arithmetic(
    demo: ProgramDef, cents: int, tier: str
) -> None:
    # multipliers 1.0 / 1.25 / 1.5 as exact fractions of 100: floor(cents x m / 10000)
    hundredths = {"member": 100, "silver": 125, "gold": 150}[tier]
    assert purchase_points(Decimal(cents) / 100, demo, tier) == cents * hundredths // 10_000


def test_record_purchase_earns_at_member(demo: ProgramDef, member: Member, ctx: Context) -> None:
    occurred = ctx.now - timedelta(minutes=5)
    outcome = record_purchase(member, Decimal("10.99"), "o-42", occurred, demo, ctx)
    after = outcome.member
    assert after.version == member.version + 1
    assert outcome.changes == (ChangeKind.POINTS_EARNED,)
    assert after.balance.available == 10
    assert after.balance.pending == 0
    assert after.balance.lifetime == 10
    assert after.tier.tier_id == "member"
    assert after.tier.qualifying_points == 10
    assert after.tier.since == member.tier.since
    assert after.last_activity_at == ctx.now
    assert after.change_versions[ChangeKind.POINTS_EARNED.value] == after.version
    assert after.changes_since(member.version) == [ChangeKind.POINTS_EARNED]
    (entry,) = outcome.entries
    assert entry.kind is LedgerEntryKind.EARN
    assert entry.points == 10
    assert entry.balance_after == 10
    assert entry.status is LedgerEntryStatus.AVAILABLE
    assert entry.available_at is None
    assert entry.order_id == "o-42"
    assert entry.occurred_at == occurred
    assert entry.channel is Channel.APP
    assert "o-42" in entry.description
    assert "10.99 EUR" in entry.description
    assert outcome.issue is None
    # the member given is untouched
    assert member.balance.available == 0
    assert member.version == 1


def test_record_purchase_uses_the_silver_multiplier(
    demo: ProgramDef, member: Member, ctx: Context
) -> None:
    silver = at_tier(member, "silver", 600)
    outcome = buy(silver, "10.99", demo, ctx)
    assert outcome.entries[0].points == 13
    assert outcome.member.tier.qualifying_points == 613
    assert outcome.changes == (ChangeKind.POINTS_EARNED,)


def test_record_purchase_uses_the_gold_multiplier(
    demo: ProgramDef, member: Member, ctx: Context
) -> None:
    outcome = buy(at_tier(member, "gold", 2000), "99.99", demo, ctx)
    assert outcome.entries[0].points == 149
    assert outcome.member.balance.available == 149


def test_crossing_a_threshold_changes_tier(demo: ProgramDef, member: Member) -> None:
    first = buy(
        member, "400.00", demo, Context(now=member.enrolled_at, actor="t", channel=Channel.POS)
    )
    assert first.member.tier.tier_id == "member"
    later = member.enrolled_at + timedelta(days=3)
    ctx = Context(now=later, actor="t", channel=Channel.POS, store_id="s-9")
    second = buy(first.member, "200.00", demo, ctx, order="o-2")
    after = second.member
    # the multiplier is the one held BEFORE the purchase: 200 x 1.0, not 200 x 1.25
    assert second.entries[0].points == 200
    assert second.changes == (ChangeKind.POINTS_EARNED, ChangeKind.TIER_CHANGED)
    assert after.tier.tier_id == "silver"
    assert after.tier.qualifying_points == 600
    assert after.tier.since == later
    assert after.version == first.member.version + 1
    assert after.change_versions[ChangeKind.TIER_CHANGED.value] == after.version
    assert after.changes_since(first.member.version) == [
        ChangeKind.POINTS_EARNED,
        ChangeKind.TIER_CHANGED,
    ]
    assert second.store_id == "s-9"
    assert second.entries[0].store_id == "s-9"
    # the next purchase earns at silver
    third = buy(after, "10.99", demo, ctx, order="o-3")
    assert third.entries[0].points == 13
    assert third.changes == (ChangeKind.POINTS_EARNED,)


def test_reaching_the_threshold_exactly_changes_tier(
    demo: ProgramDef, member: Member, ctx: Context
) -> None:
    outcome = buy(at_tier(member, "member", 499), "1.00", demo, ctx)
    assert outcome.member.tier.tier_id == "silver"
    assert ChangeKind.TIER_CHANGED in outcome.changes


def test_one_purchase_can_skip_a_tier(demo: ProgramDef, member: Member, ctx: Context) -> None:
    outcome = buy(member, "2500.00", demo, ctx)
    assert outcome.entries[0].points == 2500
    assert outcome.member.tier.tier_id == "gold"
    assert outcome.changes.count(ChangeKind.TIER_CHANGED) == 1


def test_return_window_puts_points_in_pending(now: datetime) -> None:
    member = enrolled(WINDOWED, now)
    ctx = Context(now=now + timedelta(hours=1), actor="t", channel=Channel.POS)
    occurred = ctx.now - timedelta(days=2)  # a till that syncs late: the window runs from now
    outcome = record_purchase(member, Decimal("10.00"), "o-1", occurred, WINDOWED, ctx)
    after = outcome.member
    assert after.balance.available == 0
    assert after.balance.pending == 20
    assert after.balance.lifetime == 20
    (entry,) = outcome.entries
    assert entry.status is LedgerEntryStatus.PENDING
    assert entry.available_at == ctx.now + timedelta(days=14)
    assert entry.occurred_at == occurred
    assert entry.balance_after == 20
    # pending points still qualify towards the tier
    assert after.tier.qualifying_points == 20


def test_balance_after_is_available_plus_pending(now: datetime) -> None:
    member = enrolled(WINDOWED, now)
    member = replace(member, balance=replace(member.balance, available=300, lifetime=300))
    ctx = Context(now=now, actor="t", channel=Channel.APP)
    outcome = buy(member, "5.00", WINDOWED, ctx)
    balance = outcome.member.balance
    assert (balance.available, balance.pending) == (300, 10)
    assert outcome.entries[0].balance_after == 310 == balance.available + balance.pending


def test_lifetime_overflow_is_refused(demo: ProgramDef, member: Member, ctx: Context) -> None:
    rich = replace(member, balance=replace(member.balance, lifetime=INT32_MAX - 5))
    with pytest.raises(DomainError) as info:
        buy(rich, "6.00", demo, ctx)
    assert info.value.code is ErrorCode.INVALID_INPUT
    assert buy(rich, "5.00", demo, ctx).member.balance.lifetime == INT32_MAX


cents_lists = st.lists(st.integers(min_value=1, max_value=1_000_000), max_size=30)


def check_sequence(program: ProgramDef, start: Member, all_cents: list[int], now: datetime) -> None:
    member = start
    total = 0
    for index, cents in enumerate(all_cents):
        text = f"{cents // 100}.{cents % 100:02d}"
        amount = parse_amount(text, program, ("input", "amount"))
        ctx = Context(now=now + timedelta(minutes=index), actor="t", channel=Channel.POS)
        outcome = record_purchase(member, amount, f"o-{index}", ctx.now, program, ctx)
        after = outcome.member
        (entry,) = outcome.entries
        assert after.version == member.version + 1
        assert entry.points >= 0
        assert entry.points == purchase_points(amount, program, member.tier.tier_id)
        total += entry.points
        assert entry.balance_after == after.balance.available + after.balance.pending
        assert after.balance.available >= 0
        assert after.balance.pending >= 0
        assert after.tier.qualifying_points == total
        assert (ChangeKind.TIER_CHANGED in outcome.changes) == (
            after.tier.tier_id != member.tier.tier_id
        )
        member = after
    assert member.version == start.version + len(all_cents)
    assert member.balance.available + member.balance.pending == total
    assert member.balance.lifetime == total


@given(all_cents=cents_lists)
def test_purchase_sequences_keep_the_books(demo: ProgramDef, all_cents: list[int]) -> None:
    now = datetime.fromisoformat("2025-03-01T12:00:00+00:00")
    check_sequence(demo, enrolled(demo, now), all_cents, now)


@given(all_cents=st.lists(st.integers(min_value=1, max_value=500_000), max_size=30))
def test_purchase_sequences_keep_the_books_with_a_return_window(all_cents: list[int]) -> None:
    now = datetime.fromisoformat("2025-03-01T12:00:00+00:00")
    check_sequence(WINDOWED, enrolled(WINDOWED, now), all_cents, now)
