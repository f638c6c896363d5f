"""A hypothesis state machine over random sequences of the points economy's operations:
purchase, activity, redeem, reverse, partial return, adjust, and the jobs (release, expiry,
birthday, tier evaluation) as time passes. After every step the invariants hold."""

from __future__ import annotations

import os
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from loyalty.changes import Context
from loyalty.enrollment import enroll
from loyalty.errors import DomainError, ErrorCode
from loyalty.model import IdentifierKind, LedgerEntryKind, LedgerEntryStatus, Profile
from loyalty.program import (
    ActivityKind,
    Channel,
    ExpiryPolicy,
    NegativeBalancePolicy,
    parse_program,
)
from loyalty.tiers import qualifying_at, rank, tier_for
from tests.loyalty.conftest import DEMO_PATH, T0
from tests.loyalty.ledger import Ledger, variant

DEMO = parse_program(DEMO_PATH.read_text(encoding="utf-8"))


class Economy(RuleBasedStateMachine):
    book: Ledger

    @initialize(
        window=st.sampled_from([0, 7]),
        expiry=st.sampled_from([ExpiryPolicy.FIFO, ExpiryPolicy.INACTIVITY, ExpiryPolicy.NONE]),
        negative=st.sampled_from(list(NegativeBalancePolicy)),
    )
    def start(self, window: int, expiry: ExpiryPolicy, negative: NegativeBalancePolicy) -> None:
        program = variant(
            DEMO,
            return_window_days=window,
            expiry=expiry,
            validity_months=2,
            inactivity_months=2,
            negative_balance=negative,
        )
        joined = enroll(
            "m-1",
            [(IdentifierKind.EMAIL, "m@example.com")],
            Profile(birthday="1990-04-10"),
            program,
            Context(now=T0, actor="t", channel=Channel.APP),
        ).member
        self.book = Ledger(joined, program, T0)
        self.lifetime = 0
        self.reversing = False
        self.expired_seqs: set[int] = set()

    def _step(self) -> None:
        self.reversing = False

    @rule(cents=st.integers(1, 150_000), coffee=st.integers(0, 3))
    def purchase(self, cents: int, coffee: int) -> None:
        self._step()
        lines = (("coffee", coffee),) if coffee else ()
        self.book.buy(f"{cents / 100:.2f}", f"o-{len(self.book.entries)}", lines)

    @rule(kind=st.sampled_from(list(ActivityKind)), store=st.sampled_from(["s-1", "s-2", "s-3"]))
    def activity(self, kind: ActivityKind, store: str) -> None:
        self._step()
        attrs = {"surveyId": store} if kind is ActivityKind.SURVEY else {}
        self.book.activity(kind, store, **attrs)

    @rule(reward=st.sampled_from(["free-coffee", "five-off", "tote-bag", "gold-lounge"]))
    def redeem(self, reward: str) -> None:
        self._step()
        before = self.book.member
        cost = self.book.program.reward(reward).cost  # type: ignore[union-attr]
        try:
            self.book.redeem(reward)
        except DomainError as refused:
            assert refused.code in (ErrorCode.INSUFFICIENT_POINTS, ErrorCode.TIER_TOO_LOW)
            assert self.book.member == before
            return
        assert before.balance.available >= cost  # never below zero by a redemption
        assert self.book.member.balance.available == before.balance.available - cost

    @precondition(lambda self: any(e.kind is LedgerEntryKind.EARN for e in self.book.entries))
    @rule(pick=st.integers(0, 10_000))
    def reverse(self, pick: int) -> None:
        self._step()
        candidates = [
            e
            for e in self.book.entries
            if e.kind in (LedgerEntryKind.EARN, LedgerEntryKind.BONUS, LedgerEntryKind.REDEEM)
        ]
        entry = candidates[pick % len(candidates)]
        try:
            self.book.reverse(entry)
        except DomainError as refused:
            current = next(e for e in self.book.entries if e.id == entry.id)
            if refused.code is ErrorCode.ALREADY_REVERSED:
                assert current.reversed_by is not None
            else:
                assert current.kind is LedgerEntryKind.REDEEM
            return
        self.reversing = True

    @precondition(lambda self: any(e.amount for e in self.book.entries))
    @rule(pick=st.integers(0, 10_000), share=st.integers(1, 100))
    def partial_return(self, pick: int, share: int) -> None:
        self._step()
        purchases = [e for e in self.book.entries if e.amount is not None]
        entry = purchases[pick % len(purchases)]
        if entry.reversed_by is not None:
            return
        left = Decimal(entry.amount or "0") - Decimal(entry.returned_amount or "0")
        amount = (left * share / 100).quantize(Decimal("0.01"))
        if amount <= 0:
            return
        self.book.return_goods(entry.order_id or "", str(amount))
        self.reversing = True

    @rule(points=st.integers(-500, 500).filter(bool))
    def adjust(self, points: int) -> None:
        self._step()
        try:
            self.book.adjust(points)
        except DomainError as refused:
            assert refused.code is ErrorCode.INSUFFICIENT_POINTS
            assert -points > self.book.member.balance.available

    @rule(days=st.integers(0, 70))
    def time_passes_and_jobs_run(self, days: int) -> None:
        """Release, expiry, birthday and tier evaluation: whatever is due."""
        self._step()
        self.book.later(days=days)
        before = {lot.seq for lot in self.book.member.lots}
        ran = self.book.jobs()
        gone = before - {lot.seq for lot in self.book.member.lots}
        released = set(ran.released)
        expired = (
            gone - released if any(e.kind is LedgerEntryKind.EXPIRY for e in ran.entries) else set()
        )
        assert not expired & self.expired_seqs, "a lot expired twice"
        self.expired_seqs |= expired
        again = self.book.jobs()  # run again at once: one effect
        assert again.entries == () and again.released == ()
        review = self.book.member.tier.review_at
        assert review is None or review > self.book.now  # nothing due is left undone
        program = self.book.program
        if program.points.expiry is ExpiryPolicy.FIFO:
            assert all(
                lot.expires_at is None or lot.expires_at > self.book.now
                for lot in self.book.member.lots
                if not lot.pending
            )
        assert all(
            lot.available_at is None or lot.available_at > self.book.now
            for lot in self.book.member.lots
        )

    # -- invariants -------------------------------------------------------------------------
    @invariant()
    def available_is_the_open_lots(self) -> None:
        if not hasattr(self, "book"):
            return
        balance = self.book.member.balance
        if balance.available >= 0:
            assert balance.available == self.book.open_available()
        else:  # in debt: new points repay it before any lot opens
            assert self.book.program.points.negative_balance is NegativeBalancePolicy.ALLOW
            assert self.book.open_available() == 0

    @invariant()
    def pending_and_available_never_mixed(self) -> None:
        if not hasattr(self, "book"):
            return
        assert self.book.member.balance.pending == self.book.open_pending()
        statuses = {e.seq: e.status for e in self.book.entries}
        for lot in self.book.member.lots:
            if lot.pending:
                assert statuses.get(lot.seq) is LedgerEntryStatus.PENDING
        assert self.book.ledger_sum() == (
            self.book.member.balance.available + self.book.member.balance.pending
        )

    @invariant()
    def lifetime_never_decreases_except_by_reversal(self) -> None:
        if not hasattr(self, "book"):
            return
        lifetime = self.book.member.balance.lifetime
        if not self.reversing:
            assert lifetime >= self.lifetime
        self.lifetime = lifetime

    @invariant()
    def tier_matches_qualifying_points(self) -> None:
        if not hasattr(self, "book"):
            return
        program, tier = self.book.program, self.book.member.tier
        reached = tier_for(qualifying_at(tier, self.book.now, program), program)
        held = rank(tier.tier_id, program)
        assert held >= rank(reached.id, program)  # an upgrade never waits
        if held > rank(reached.id, program):
            assert tier.review_at is not None  # a downgrade waits for its re-evaluation
        if held > 0:
            assert tier.review_at is not None


Economy.TestCase.settings = settings(
    max_examples=int(os.environ.get("ECONOMY_EXAMPLES", "100")),
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestEconomy = Economy.TestCase
