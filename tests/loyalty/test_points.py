"""points: lots, the return window, FIFO and inactivity expiry, debt, expiringSoon."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loyalty.errors import DomainError, ErrorCode
from loyalty.model import ChangeKind, LedgerEntryKind, LedgerEntryStatus, Member
from loyalty.points import expiring_soon
from loyalty.program import ExpiryPolicy, NegativeBalancePolicy, ProgramDef
from loyalty.schedule import due_at
from loyalty.tiers import add_months
from tests.loyalty.conftest import T0
from tests.loyalty.ledger import Ledger, variant


def test_purchase_points_wait_out_the_return_window_then_release(
    demo: ProgramDef, member: Member
) -> None:
    book = Ledger(member, variant(demo, return_window_days=14), T0)
    bought = book.buy("120.00", "o-1")
    assert bought.entries[0].status is LedgerEntryStatus.PENDING
    assert bought.entries[0].available_at == T0 + timedelta(days=14)
    assert (book.member.balance.available, book.member.balance.pending) == (0, 120)
    assert due_at(book.member, book.program) == T0 + timedelta(days=14)
    book.later(days=13, hours=23)
    assert book.jobs().changes == ()  # not yet due: nothing moves
    book.later(hours=1)
    released = book.jobs()
    assert released.changes == (ChangeKind.POINTS_RELEASED,)
    assert released.released == (book.earn_of("o-1").seq,)
    assert (book.member.balance.available, book.member.balance.pending) == (120, 0)
    assert book.earn_of("o-1").status is LedgerEntryStatus.AVAILABLE
    assert book.member.balance.lifetime == 120
    assert book.open_available() == 120
    assert book.jobs().changes == ()  # released once


def test_pending_points_cannot_be_redeemed(demo: ProgramDef, member: Member) -> None:
    book = Ledger(member, variant(demo, return_window_days=14), T0)
    book.buy("500.00", "o-1")
    with pytest.raises(DomainError) as refused:
        book.redeem("free-coffee")
    assert refused.value.code is ErrorCode.INSUFFICIENT_POINTS


def test_redemption_spends_the_lots_that_expire_first(demo: ProgramDef, member: Member) -> None:
    book = Ledger(member, variant(demo), T0)
    book.buy("100.00", "old")
    book.later(days=40)
    book.buy("100.00", "new")
    book.redeem("free-coffee")  # 150: all of the old lot, 50 of the new one
    lots = [(lot.seq, lot.points) for lot in book.member.lots]
    assert lots == [(book.earn_of("new").seq, 50)]
    assert book.open_available() == book.member.balance.available == 50


def test_lots_expire_oldest_first_once(demo: ProgramDef, member: Member) -> None:
    program = variant(demo, validity_months=12, notice_days=30)
    book = Ledger(member, program, T0)
    book.buy("100.00", "first")
    book.later(days=60)
    book.buy("40.00", "second")
    first_expiry = add_months(T0, 12)
    assert due_at(book.member, program) == first_expiry
    book.now = first_expiry - timedelta(days=31)
    assert expiring_soon(book.member, book.now, program) == []
    book.now = first_expiry - timedelta(days=29)
    assert expiring_soon(book.member, book.now, program) == [(first_expiry, 100)]
    book.now = first_expiry
    expired = book.jobs()
    assert expired.changes == (ChangeKind.POINTS_EXPIRED,)
    assert [(e.kind, e.points) for e in expired.entries] == [(LedgerEntryKind.EXPIRY, -100)]
    assert book.member.balance.available == 40
    assert book.member.balance.lifetime == 140  # expiry is not a reversal
    again = book.jobs()
    assert again.changes == ()  # nothing expires twice
    assert book.ledger_sum() == book.member.balance.available


def test_spent_points_do_not_expire(demo: ProgramDef, member: Member) -> None:
    book = Ledger(member, variant(demo), T0)
    book.buy("200.00", "o-1")
    book.redeem("free-coffee")
    book.now = add_months(T0, 12)
    expired = book.jobs()
    assert [e.points for e in expired.entries] == [-50]
    assert book.member.balance.available == 0


def test_inactivity_expires_everything_after_n_months(demo: ProgramDef, member: Member) -> None:
    program = variant(demo, expiry=ExpiryPolicy.INACTIVITY, inactivity_months=6, notice_days=10)
    book = Ledger(member, program, T0)
    book.buy("80.00", "o-1")
    book.later(days=30)
    book.buy("20.00", "o-2")  # activity moves the deadline on
    deadline = add_months(book.now, 6)
    assert book.member.dormant_at == deadline
    assert due_at(book.member, program) == deadline
    assert expiring_soon(book.member, deadline - timedelta(days=5), program) == [(deadline, 100)]
    book.now = deadline - timedelta(seconds=1)
    assert book.jobs().changes == ()
    book.now = deadline
    expired = book.jobs()
    assert [e.points for e in expired.entries] == [-100]
    assert book.member.balance.available == 0
    assert book.jobs().changes == ()


def test_no_expiry_policy_keeps_points(demo: ProgramDef, member: Member) -> None:
    program = variant(demo, expiry=ExpiryPolicy.NONE)
    book = Ledger(member, program, T0)
    book.buy("80.00", "o-1")
    assert due_at(book.member, program) is None
    book.now = add_months(T0, 60)
    assert book.jobs().changes == ()
    assert book.member.balance.available == 80


def test_reversing_spent_points_leaves_a_debt_that_blocks_redemption(
    demo: ProgramDef, member: Member
) -> None:
    program = variant(demo, negative_balance=NegativeBalancePolicy.ALLOW)
    book = Ledger(member, program, T0)
    book.buy("200.00", "o-1")
    book.redeem("free-coffee")  # 150 spent, 50 left
    book.reverse(book.earn_of("o-1"))
    assert book.member.balance.available == -150
    assert book.member.lots == ()
    assert book.ledger_sum() == -150
    with pytest.raises(DomainError) as refused:
        book.redeem("free-coffee")
    assert refused.value.code is ErrorCode.INSUFFICIENT_POINTS
    book.buy("100.00", "o-2")  # repays 100 of the debt first: no lot opens
    assert book.member.balance.available == -50
    assert book.member.lots == ()
    book.buy("80.00", "o-3")
    assert book.member.balance.available == 30
    assert book.open_available() == 30


def test_write_off_policy_stops_the_balance_at_zero(demo: ProgramDef, member: Member) -> None:
    program = variant(demo, negative_balance=NegativeBalancePolicy.WRITE_OFF)
    book = Ledger(member, program, T0)
    book.buy("200.00", "o-1")
    book.redeem("free-coffee")
    reversed_ = book.reverse(book.earn_of("o-1"))
    assert [e.points for e in reversed_.entries] == [-50]  # 150 written off
    assert book.member.balance.available == 0
    assert book.member.balance.lifetime == 0
    assert book.ledger_sum() == 0


def test_a_pending_debt_is_repaid_at_release(demo: ProgramDef, member: Member) -> None:
    program = variant(demo, return_window_days=7)
    book = Ledger(member, program, T0)
    book.adjust(200)
    book.redeem("free-coffee")
    book.buy("100.00", "o-1")
    book.reverse(book.earn_of("o-1"))  # its own pending lot covers it: no debt
    assert (book.member.balance.available, book.member.balance.pending) == (50, 0)
    book.buy("30.00", "o-2")
    book.adjust(-50)
    assert book.member.balance.available == 0
    book.later(days=7)
    book.jobs()
    assert (book.member.balance.available, book.member.balance.pending) == (30, 0)
