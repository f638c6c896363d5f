"""returns: full reversal, proportional partial returns, dependent bonuses, twice refused."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.changes import Context
from loyalty.enrollment import enroll
from loyalty.errors import DomainError, ErrorCode
from loyalty.model import ChangeKind, IdentifierKind, LedgerEntryKind, Member, Profile
from loyalty.program import Channel, ProgramDef
from loyalty.purchases import check_referral
from tests.loyalty.conftest import T0
from tests.loyalty.ledger import Ledger, variant


def test_reverse_entry_takes_an_earning_back_in_full(demo: ProgramDef, member: Member) -> None:
    book = Ledger(member, demo, T0)
    book.buy("600.00", "o-1")
    assert book.member.tier.tier_id == "silver"
    outcome = book.reverse(book.earn_of("o-1"))
    assert outcome.changes == (ChangeKind.POINTS_REVERSED,)
    (entry,) = outcome.entries
    assert (entry.kind, entry.points, entry.reverses) == (
        LedgerEntryKind.REVERSAL,
        -600,
        book.earn_of("o-1").id,
    )
    assert book.member.balance.available == 0
    assert book.member.balance.lifetime == 0
    assert book.member.tier.qualifying_points == 0
    # the tier is only lowered by a re-evaluation after the grace period
    assert book.member.tier.tier_id == "silver"
    reversal = book.entries[-1]
    assert book.earn_of("o-1").reversed_by == reversal.id


def test_reversing_twice_is_refused(demo: ProgramDef, member: Member) -> None:
    book = Ledger(member, demo, T0)
    book.buy("60.00", "o-1")
    book.reverse(book.earn_of("o-1"))
    with pytest.raises(DomainError) as refused:
        book.reverse(book.earn_of("o-1"))
    assert refused.value.code is ErrorCode.ALREADY_REVERSED
    with pytest.raises(DomainError) as again:
        book.return_goods("o-1", "1.00")
    assert again.value.code is ErrorCode.ALREADY_REVERSED


def test_only_earnings_can_be_reversed(demo: ProgramDef, member: Member) -> None:
    book = Ledger(member, demo, T0)
    book.buy("200.00", "o-1")
    book.redeem("free-coffee")
    redeem = next(e for e in book.entries if e.kind is LedgerEntryKind.REDEEM)
    with pytest.raises(DomainError) as refused:
        book.reverse(redeem)
    assert refused.value.code is ErrorCode.INVALID_INPUT


def test_partial_returns_take_points_back_in_proportion(demo: ProgramDef, member: Member) -> None:
    book = Ledger(member, demo, T0)
    book.buy("100.00", "o-1")  # 100 points
    first = book.return_goods("o-1", "33.33")  # floor(100 x 33.33 / 100) = 33
    assert [e.points for e in first.entries] == [-33]
    assert book.earn_of("o-1").reversed_by is None
    assert book.earn_of("o-1").returned_amount == "33.33"
    second = book.return_goods("o-1", "33.33")  # floor(100 x 66.66 / 100) = 66: 33 more
    assert [e.points for e in second.entries] == [-33]
    last = book.return_goods("o-1", "33.34")  # the whole amount: everything left
    assert [e.points for e in last.entries] == [-34]
    assert book.member.balance.available == 0
    assert book.earn_of("o-1").reversed_by is not None


def test_a_return_beyond_the_amount_is_refused(demo: ProgramDef, member: Member) -> None:
    book = Ledger(member, demo, T0)
    book.buy("50.00", "o-1")
    book.return_goods("o-1", "30.00")
    with pytest.raises(DomainError) as refused:
        book.return_goods("o-1", "20.01")
    assert refused.value.code is ErrorCode.INVALID_INPUT
    assert refused.value.field == ("input", "returnedAmount")


@settings(max_examples=60, deadline=None)
@given(
    cents=st.integers(min_value=1, max_value=1_000_000),
    cuts=st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=6),
)
def test_partial_returns_add_up_to_the_full_reversal(
    demo: ProgramDef, member: Member, cents: int, cuts: list[int]
) -> None:
    book = Ledger(member, demo, T0)
    amount = cents / 100
    book.buy(f"{amount:.2f}", "o-1")
    points = book.earn_of("o-1").points
    total = sum(cuts)
    parts = [cents * c // total for c in cuts]
    parts[-1] = cents - sum(parts[:-1])
    taken = 0
    for part in parts:
        if part == 0:
            continue
        outcome = book.return_goods("o-1", f"{part / 100:.2f}")
        taken -= sum(e.points for e in outcome.entries)
    assert taken == points
    assert book.member.balance.available == 0
    assert book.ledger_sum() == 0


def test_a_challenge_bonus_goes_with_its_purchase(demo: ProgramDef, member: Member) -> None:
    book = Ledger(member, demo, T0)
    bought = book.buy("10.00", "o-1", categories=(("coffee", 5),))
    assert [(e.kind, e.points) for e in bought.entries] == [
        (LedgerEntryKind.EARN, 10),
        (LedgerEntryKind.BONUS, 150),
    ]
    outcome = book.reverse(book.earn_of("o-1"))
    assert [e.points for e in outcome.entries] == [-10, -150]
    assert book.member.balance.available == 0
    bonus = next(e for e in book.entries if e.kind is LedgerEntryKind.BONUS)
    assert bonus.reversed_by is not None
    # the challenge stays completed: it is not paid a second time this month
    again = book.buy("10.00", "o-2", categories=(("coffee", 5),))
    assert [e.kind for e in again.entries] == [LedgerEntryKind.EARN]


def test_reversing_a_pending_purchase_takes_it_from_pending(
    demo: ProgramDef, member: Member
) -> None:
    book = Ledger(member, variant(demo, return_window_days=14), T0)
    book.buy("80.00", "o-1")
    book.reverse(book.earn_of("o-1"))
    assert (book.member.balance.available, book.member.balance.pending) == (0, 0)
    assert book.member.lots == ()


def test_referral_bonuses_both_sides_and_reversed_with_the_purchase(
    demo: ProgramDef, member: Member
) -> None:
    referrer = Ledger(member, demo, T0)
    joined = enroll(
        "m-2",
        [(IdentifierKind.EMAIL, "friend@example.com")],
        Profile(),
        demo,
        Context(now=T0, actor="t", channel=Channel.APP),
        referred_by=member.id,
    )
    assert [(e.kind, e.points) for e in joined.entries] == [(LedgerEntryKind.BONUS, 100)]
    assert joined.member.balance.available == 100
    referee = Ledger(replace(joined.member), demo, T0)
    referee.others[member.id] = referrer
    first = referee.buy("20.00", "o-1")
    assert [r.member_id for r in first.related] == [member.id]
    assert referrer.member.balance.available == 200
    assert referee.member.referral_paid
    second = referee.buy("20.00", "o-2")
    assert second.related == ()  # one reward per referee
    assert referrer.member.balance.available == 200
    referee.reverse(referee.earn_of("o-1"))
    assert referrer.member.balance.available == 0
    assert [e.kind for e in referrer.entries] == [LedgerEntryKind.BONUS, LedgerEntryKind.REVERSAL]


def test_self_referral_and_loops_are_refused() -> None:
    with pytest.raises(DomainError) as own:
        check_referral("m-1", "m-1", [])
    assert own.value.field == ("input", "referredBy")
    with pytest.raises(DomainError) as loop:
        check_referral("m-1", "m-2", ["m-3", "m-1"])
    assert loop.value.code is ErrorCode.INVALID_INPUT
    check_referral("m-1", "m-2", ["m-3"])  # a plain chain is fine
