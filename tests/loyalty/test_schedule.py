"""schedule and tiers: birthday once a year, rolling window, upgrade at once, downgrade
after the grace period, adjustments, and the program file's new sections."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from loyalty.errors import DomainError, ErrorCode
from loyalty.model import ChangeKind, LedgerEntryKind, Member, Profile
from loyalty.program import ProgramDef, ProgramFileError, parse_program
from loyalty.schedule import birthday_due, due_at
from loyalty.stats import Figures, stats
from loyalty.tiers import add_months, qualifying_at
from tests.loyalty.conftest import DEMO_PATH, T0
from tests.loyalty.ledger import Ledger


def with_birthday(member: Member, birthday: str) -> Member:
    return replace(member, profile=replace(member.profile, birthday=birthday))


def test_birthday_bonus_once_a_year_in_the_birthday_month(demo: ProgramDef, member: Member) -> None:
    book = Ledger(with_birthday(member, "1990-05-17"), demo, T0)  # enrolled 1 March 2025
    may = datetime(2025, 5, 1, tzinfo=UTC)
    assert birthday_due(book.member, demo) == may
    book.now = may - timedelta(seconds=1)
    assert book.jobs().changes == ()
    book.now = may + timedelta(hours=3)
    paid = book.jobs()
    assert [(e.kind, e.points) for e in paid.entries] == [(LedgerEntryKind.BONUS, 250)]
    assert book.jobs().changes == ()  # once
    assert birthday_due(book.member, demo) == datetime(2026, 5, 1, tzinfo=UTC)


def test_a_missed_birthday_month_is_skipped_not_paid_late(demo: ProgramDef, member: Member) -> None:
    book = Ledger(with_birthday(member, "1990-05-17"), demo, T0)
    book.now = datetime(2026, 7, 1, tzinfo=UTC)  # no run in May 2025 nor May 2026
    outcome = book.jobs()
    assert outcome.entries == ()
    assert book.member.birthday_year == 2026
    assert birthday_due(book.member, demo) == datetime(2027, 5, 1, tzinfo=UTC)


def test_no_birthday_no_bonus(demo: ProgramDef, member: Member) -> None:
    assert birthday_due(replace(member, profile=Profile()), demo) is None


def test_upgrade_at_once_downgrade_after_grace(demo: ProgramDef, member: Member) -> None:
    book = Ledger(member, demo, T0)
    bought = book.buy("600.00", "o-1")
    assert ChangeKind.TIER_CHANGED in bought.changes
    assert (book.member.tier.tier_id, book.member.tier.since) == ("silver", T0)
    assert book.member.tier.previous == "member"
    review = datetime(2025, 4, 1, tzinfo=UTC)
    assert book.member.tier.review_at == review
    # March 2025 leaves the 12-month window at the start of March 2026
    book.now = datetime(2026, 2, 28, tzinfo=UTC)
    assert qualifying_at(book.member.tier, book.now, demo) == 600
    book.jobs()
    assert book.member.tier.tier_id == "silver"
    march = datetime(2026, 3, 1, tzinfo=UTC)
    assert qualifying_at(book.member.tier, march, demo) == 0
    book.now = march
    first = book.jobs()  # below: the grace period starts, the tier stays
    assert ChangeKind.TIER_CHANGED not in first.changes
    assert book.member.tier.below_since == march
    assert book.member.tier.review_at == march + timedelta(days=30)
    book.now = march + timedelta(days=30)
    second = book.jobs()  # the 600 points' lot also reached its 12 months
    assert second.changes == (ChangeKind.POINTS_EXPIRED, ChangeKind.TIER_CHANGED)
    assert book.member.tier.tier_id == "member"
    assert book.member.tier.previous == "silver"
    assert book.member.tier.review_at is None  # nothing to review on the first tier


def test_earning_during_the_grace_period_keeps_the_tier(demo: ProgramDef, member: Member) -> None:
    book = Ledger(member, demo, T0)
    book.buy("600.00", "o-1")
    book.now = datetime(2026, 3, 1, tzinfo=UTC)
    book.jobs()
    assert book.member.tier.below_since is not None
    book.buy("500.00", "o-2")
    book.now = datetime(2026, 4, 1, tzinfo=UTC)
    book.jobs()
    assert book.member.tier.tier_id == "silver"
    assert book.member.tier.below_since is None


def test_the_window_keeps_only_its_months(demo: ProgramDef, member: Member) -> None:
    book = Ledger(member, demo, T0)
    for month in range(15):
        book.now = add_months(T0, month)
        book.buy("10.00", f"o-{month}")
    assert len(book.member.tier.months) == 12
    assert book.member.tier.qualifying_points == 120


def test_adjustments_need_a_reason_and_never_go_below_zero(
    demo: ProgramDef, member: Member
) -> None:
    book = Ledger(member, demo, T0)
    added = book.adjust(300, "  missing   points ")
    assert [(e.kind, e.points, e.reason) for e in added.entries] == [
        (LedgerEntryKind.ADJUSTMENT, 300, "missing points")
    ]
    assert book.member.balance.lifetime == 0  # a correction is not earning
    assert book.member.last_activity_at == member.last_activity_at  # nor the member's doing
    book.adjust(-100)
    assert book.member.balance.available == 200 == book.open_available()
    for points, reason, code in [
        (-201, "too much", ErrorCode.INSUFFICIENT_POINTS),
        (0, "nothing", ErrorCode.INVALID_INPUT),
        (5, "   ", ErrorCode.INVALID_INPUT),
        (2_000_000, "huge", ErrorCode.INVALID_INPUT),
    ]:
        with pytest.raises(DomainError) as refused:
            book.adjust(points, reason)
        assert refused.value.code is code


def test_due_at_is_the_earliest_scheduled_work(demo: ProgramDef, member: Member) -> None:
    book = Ledger(with_birthday(member, "1990-12-01"), demo, T0)
    assert due_at(book.member, demo) == datetime(2025, 12, 1, tzinfo=UTC)
    book.buy("600.00", "o-1")  # silver: reviewed monthly
    assert due_at(book.member, demo) == datetime(2025, 4, 1, tzinfo=UTC)


def test_program_sections_are_validated_with_the_bad_key() -> None:
    text = DEMO_PATH.read_text(encoding="utf-8")
    for bad, key in [
        ('expiry = "fifo"', 'expiry = "sometimes"'),
        ("notice_days = 30", "notice_days = -1"),
        ("grace_days = 30", "grace_days = 9999"),
        ("APP_DOWNLOAD = { points = 100 }", "APP_DOWNLOADS = { points = 100 }"),
        ('kind = "distinct_stores"', 'kind = "category_items"'),
    ]:
        assert bad in text
        with pytest.raises(ProgramFileError) as refused:
            parse_program(text.replace(bad, key, 1))
        message = str(refused.value)
        expected = {
            'expiry = "sometimes"': "points.expiry",
            "notice_days = -1": "points.notice_days",
            "grace_days = 9999": "tiering.grace_days",
            "APP_DOWNLOADS = { points = 100 }": "activities.APP_DOWNLOADS",
            'kind = "category_items"': "challenges.0",
        }[key]
        assert expected in message, message


def test_program_stats_from_the_sums(demo: ProgramDef) -> None:
    figures = Figures(
        members=10,
        active_30d=4,
        active_90d=7,
        by_kind={
            LedgerEntryKind.EARN: (900, 0),
            LedgerEntryKind.BONUS: (100, 0),
            LedgerEntryKind.ADJUSTMENT: (50, -20),
            LedgerEntryKind.REDEEM: (0, -300),
            LedgerEntryKind.EXPIRY: (0, -40),
            LedgerEntryKind.REVERSAL: (0, -10),
        },
        outstanding=12345,
    )
    kpi = stats(figures, T0 - timedelta(days=30), T0, demo)
    assert (kpi.issued, kpi.redeemed, kpi.expired, kpi.reversed) == (1050, 300, 40, 10)
    assert kpi.redemption_rate == pytest.approx(300 / 1050)
    assert str(kpi.liability) == "123.45"
    empty = stats(Figures(0, 0, 0, {}, 0), T0 - timedelta(days=1), T0, demo)
    assert empty.redemption_rate == 0.0
