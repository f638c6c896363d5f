"""A member and its ledger entries kept in a list, so rule tests can chain outcomes the way
the writer commits them (ids, seqs, reversal marks, releases) without a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from loyalty import activities, adjustments, purchases, returns, rewards, schedule
from loyalty.changes import Context, Outcome, entry_seq
from loyalty.model import LedgerEntry, LedgerEntryKind, LedgerEntryStatus, Member
from loyalty.program import ActivityKind, Channel, ExpiryPolicy, ProgramDef


def variant(
    program: ProgramDef,
    *,
    return_window_days: int = 0,
    expiry: ExpiryPolicy = ExpiryPolicy.FIFO,
    **points: object,
) -> ProgramDef:
    """The demo program with another return window and points policy."""
    policy = program.points.model_copy(update={"expiry": expiry, **points})
    return program.model_copy(update={"return_window_days": return_window_days, "points": policy})


class Ledger:
    def __init__(self, member: Member, program: ProgramDef, now: datetime) -> None:
        self.member = member
        self.program = program
        self.now = now
        self.entries: list[LedgerEntry] = []
        self.others: dict[str, Ledger] = {}  # related members (a referrer)

    def ctx(self, channel: Channel | None = Channel.POS, store_id: str | None = "s-1") -> Context:
        return Context(now=self.now, actor="tester", channel=channel, store_id=store_id)

    def later(self, **delta: float) -> None:
        self.now = self.now + timedelta(**delta)

    def commit(self, outcome: Outcome) -> Outcome:
        if not outcome.changes:  # bookkeeping only: no new version, no entries
            self.member = outcome.member
            return outcome
        version = outcome.member.version
        assert version == self.member.version + 1
        made = []
        for position, draft in enumerate(outcome.entries):
            seq = entry_seq(version, position)
            made.append(
                LedgerEntry(
                    id=f"{self.member.id}-e{seq}",
                    member_id=self.member.id,
                    seq=seq,
                    kind=draft.kind,
                    points=draft.points,
                    balance_after=draft.balance_after,
                    channel=draft.channel,
                    store_id=draft.store_id,
                    description=draft.description,
                    reason=draft.reason,
                    occurred_at=draft.occurred_at,
                    recorded_at=self.now,
                    status=draft.status,
                    available_at=draft.available_at,
                    actor="tester",
                    order_id=draft.order_id,
                    amount=draft.amount,
                    reverses=draft.reverses,
                )
            )
        self.entries.extend(made)
        for mark in outcome.marks:
            index = next(i for i, e in enumerate(self.entries) if e.id == mark.entry_id)
            entry = self.entries[index]
            if mark.reversed_by is not None:
                entry = replace(entry, reversed_by=made[mark.reversed_by].id)
            if mark.returned_amount is not None:
                entry = replace(entry, returned_amount=mark.returned_amount)
            if mark.returned_points is not None:
                entry = replace(entry, returned_points=mark.returned_points)
            self.entries[index] = entry
        self.entries = [
            replace(e, status=LedgerEntryStatus.AVAILABLE) if e.seq in outcome.released else e
            for e in self.entries
        ]
        self.member = outcome.member
        for related in outcome.related:
            other = self.others[related.member_id]
            found = [e for e in other.entries if e.order_id == related.order_id]
            theirs = related.apply(other.member, found)
            if theirs is not None:
                other.now = self.now
                other.commit(theirs)
        return outcome

    # -- the operations, as the resolvers run them ------------------------------------------
    def buy(self, amount: str, order: str, categories: tuple[tuple[str, int], ...] = ()) -> Outcome:
        return self.commit(
            purchases.record_purchase(
                self.member, Decimal(amount), order, self.now, self.program, self.ctx(), categories
            )
        )

    def activity(
        self, kind: ActivityKind, store_id: str | None = None, **attributes: str
    ) -> Outcome:
        ctx = self.ctx(Channel.APP, store_id)
        return self.commit(
            activities.record_activity(self.member, kind, attributes, self.program, ctx)
        )

    def redeem(self, reward_id: str) -> Outcome:
        reward = self.program.reward(reward_id)
        assert reward is not None
        return self.commit(rewards.redeem(self.member, reward, "CODE", self.program, self.ctx()))

    def adjust(self, points: int, reason: str = "goodwill") -> Outcome:
        return self.commit(
            adjustments.adjust(self.member, points, reason, self.program, self.ctx(None, None))
        )

    def order_entries(self, order: str) -> list[LedgerEntry]:
        return [e for e in self.entries if e.order_id == order]

    def earn_of(self, order: str) -> LedgerEntry:
        return next(e for e in self.order_entries(order) if e.kind is LedgerEntryKind.EARN)

    def reverse(self, entry: LedgerEntry) -> Outcome:
        current = next(e for e in self.entries if e.id == entry.id)
        others = [e for e in self.order_entries(entry.order_id or "") if e.id != entry.id]
        return self.commit(
            returns.reverse_entry(
                self.member, current, others, "refund", self.program, self.ctx(None, None)
            )
        )

    def return_goods(self, order: str, amount: str) -> Outcome:
        earn = self.earn_of(order)
        others = [e for e in self.order_entries(order) if e.id != earn.id]
        return self.commit(
            returns.record_return(
                self.member, earn, Decimal(amount), others, None, self.program, self.ctx()
            )
        )

    def jobs(self) -> Outcome:
        return self.commit(schedule.run_due(self.member, self.program, self.now, "scheduler"))

    # -- what the invariants look at --------------------------------------------------------
    def open_available(self) -> int:
        return sum(lot.points for lot in self.member.lots if not lot.pending)

    def open_pending(self) -> int:
        return sum(lot.points for lot in self.member.lots if lot.pending)

    def ledger_sum(self) -> int:
        return sum(e.points for e in self.entries)
