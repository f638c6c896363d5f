"""Points lots: how points are held, spent, released, expired and taken back.

Every earning opens a lot (pending while inside the return window, then available); spending
and expiry consume available lots oldest first (FIFO by expiry, then by age). The invariants
the tests hold after every step:

- balance.available == sum of open available lots - debt (debt = -available when negative;
  a member in debt holds no available lot, since new points repay the debt first);
- balance.pending == sum of open pending lots;
- lifetime only grows, except when a reversal takes back an earning.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from loyalty.changes import ENTRY_SLOTS, EntryDraft, entry_seq
from loyalty.model import (
    Balance,
    LedgerEntryKind,
    LedgerEntryStatus,
    Member,
    PointsLot,
)
from loyalty.program import Channel, ExpiryPolicy, NegativeBalancePolicy, ProgramDef
from loyalty.tiers import add_months


def fifo_key(lot: PointsLot) -> tuple[float, datetime, int]:
    """Soonest expiry first; lots that never expire last; then oldest first."""
    expires = lot.expires_at.timestamp() if lot.expires_at else float("inf")
    return (expires, lot.earned_at, lot.seq)


def expiry_for(earned_at: datetime, program: ProgramDef) -> datetime | None:
    if program.points.expiry is ExpiryPolicy.FIFO:
        return add_months(earned_at, program.points.validity_months)
    return None


def dormant_at(now: datetime, program: ProgramDef) -> datetime | None:
    """When everything expires under the inactivity policy, counted from the member's `now`."""
    if program.points.expiry is ExpiryPolicy.INACTIVITY:
        return add_months(now, program.points.inactivity_months)
    return None


class Book:
    """The points side of one change: balance, lots and the ledger entries it writes."""

    def __init__(self, member: Member, program: ProgramDef, now: datetime) -> None:
        self.member = member
        self.program = program
        self.now = now
        self.available = member.balance.available
        self.pending = member.balance.pending
        self.lifetime = member.balance.lifetime
        self.lots = list(member.lots)
        self.entries: list[EntryDraft] = []
        self.released: list[int] = []

    # -- reading ---------------------------------------------------------------------------
    @property
    def next_seq(self) -> int:
        return entry_seq(self.member.version + 1, len(self.entries))

    @property
    def balance(self) -> Balance:
        return Balance(self.available, self.pending, self.lifetime)

    def lot(self, seq: int) -> PointsLot | None:
        return next((lot for lot in self.lots if lot.seq == seq), None)

    def apply(self, member: Member) -> Member:
        """`member` with this book's balance and lots.

        Under the inactivity policy, points that reach a member whose deadline has passed
        (a birthday bonus after everything expired) restart the clock, so they are not
        expired by the very next run.
        """
        dormant = member.dormant_at
        lapsed = dormant is None or dormant <= self.now
        holds = any(not lot.pending for lot in self.lots)
        if self.program.points.expiry is ExpiryPolicy.INACTIVITY and lapsed and holds:
            dormant = dormant_at(self.now, self.program) if self.entries else dormant
        return replace(member, balance=self.balance, lots=tuple(self.lots), dormant_at=dormant)

    # -- writing ---------------------------------------------------------------------------
    def _entry(
        self,
        kind: LedgerEntryKind,
        points: int,
        description: str,
        *,
        pending_until: datetime | None = None,
        occurred_at: datetime | None = None,
        channel: Channel | None = None,
        store_id: str | None = None,
        reason: str | None = None,
        order_id: str | None = None,
        amount: str | None = None,
        reverses: str | None = None,
    ) -> EntryDraft:
        draft = EntryDraft(
            kind=kind,
            points=points,
            balance_after=self.available + self.pending,
            status=LedgerEntryStatus.PENDING if pending_until else LedgerEntryStatus.AVAILABLE,
            description=description,
            occurred_at=occurred_at or self.now,
            channel=channel,
            store_id=store_id,
            reason=reason,
            available_at=pending_until,
            order_id=order_id,
            amount=amount,
            reverses=reverses,
        )
        self.entries.append(draft)
        return draft

    def _open(self, seq: int, points: int, pending_until: datetime | None) -> None:
        """Open a lot; available points repay a debt first."""
        if pending_until is None:
            repay = min(max(-self.available, 0), points)
            self.available += points
            points -= repay
        else:
            self.pending += points
        if points > 0:
            self.lots.append(
                PointsLot(
                    seq=seq,
                    points=points,
                    earned_at=self.now,
                    expires_at=expiry_for(self.now, self.program),
                    available_at=pending_until,
                )
            )

    def earn(
        self,
        kind: LedgerEntryKind,
        points: int,
        description: str,
        *,
        pending_until: datetime | None = None,
        occurred_at: datetime | None = None,
        channel: Channel | None = None,
        store_id: str | None = None,
        order_id: str | None = None,
        amount: str | None = None,
    ) -> EntryDraft:
        """Earn `points` (EARN or BONUS): a new lot, counted in lifetime."""
        seq = self.next_seq
        self._open(seq, points, pending_until)
        self.lifetime += points
        return self._entry(
            kind,
            points,
            description,
            pending_until=pending_until,
            occurred_at=occurred_at,
            channel=channel,
            store_id=store_id,
            order_id=order_id,
            amount=amount,
        )

    def _consume(self, points: int) -> int:
        """Take up to `points` from available lots, soonest to expire first; returns taken."""
        left = points
        kept: list[PointsLot] = []
        for lot in sorted(self.lots, key=fifo_key):
            if left > 0 and not lot.pending:
                used = min(lot.points, left)
                left -= used
                if lot.points > used:
                    kept.append(replace(lot, points=lot.points - used))
            else:
                kept.append(lot)
        self.lots = sorted(kept, key=lambda lot: lot.seq)
        return points - left

    def spend(
        self,
        points: int,
        description: str,
        *,
        channel: Channel | None = None,
        store_id: str | None = None,
    ) -> EntryDraft:
        """A redemption: the caller has checked the available points suffice."""
        assert 0 < points <= self.available, "a redemption never takes a balance below zero"
        self._consume(points)
        self.available -= points
        return self._entry(
            LedgerEntryKind.REDEEM, -points, description, channel=channel, store_id=store_id
        )

    def grant(self, points: int, description: str, reason: str) -> EntryDraft:
        """A positive adjustment: spendable at once, not counted as earned."""
        seq = self.next_seq
        self._open(seq, points, None)
        return self._entry(LedgerEntryKind.ADJUSTMENT, points, description, reason=reason)

    def deduct(self, points: int, description: str, reason: str) -> EntryDraft:
        """A negative adjustment, within what is available."""
        assert 0 < points <= self.available
        self._consume(points)
        self.available -= points
        return self._entry(LedgerEntryKind.ADJUSTMENT, -points, description, reason=reason)

    def take_back(
        self,
        seq: int,
        points: int,
        description: str,
        *,
        reverses: str,
        reason: str | None = None,
        order_id: str | None = None,
    ) -> tuple[EntryDraft, int]:
        """Reverse `points` of the earning that opened lot `seq`.

        What is left of its lot goes first (pending or available), then other available
        points; what was already spent beyond that follows the program's policy: a debt
        (negative balance) or a write-off. Returns the entry and the points written off.
        """
        left = points
        kept: list[PointsLot] = []
        for lot in self.lots:
            if lot.seq == seq and left > 0:
                used = min(lot.points, left)
                left -= used
                if lot.pending:
                    self.pending -= used
                else:
                    self.available -= used
                if lot.points > used:
                    kept.append(replace(lot, points=lot.points - used))
            else:
                kept.append(lot)
        self.lots = kept
        taken = self._consume(min(left, max(self.available, 0)))
        self.available -= taken
        left -= taken
        written_off = 0
        if left > 0:
            if self.program.points.negative_balance is NegativeBalancePolicy.ALLOW:
                self.available -= left
            else:
                written_off = left
        self.lifetime -= points
        entry = self._entry(
            LedgerEntryKind.REVERSAL,
            -(points - written_off),
            description,
            reason=reason,
            order_id=order_id,
            reverses=reverses,
        )
        return entry, written_off

    def absorb(self, lots: list[PointsLot], available: int, description: str) -> None:
        """Points moved in from another member (a merge), keeping each lot's expiry.

        Available lots arrive under one AVAILABLE entry; `available` may be negative (the
        other member's debt), which consumes points here first. Each pending lot gets its own
        PENDING entry so that it becomes available when its own window ends; past the slots
        one change has, the latest pending lots share one (released with the latest of them).
        """
        held = [lot for lot in lots if not lot.pending]
        if available != 0 or held:
            seq = self.next_seq
            self.lots.extend(replace(lot, seq=seq) for lot in held)
            self.available += available
            # A debt on either side is paid from the lots, soonest to expire first, so the
            # lots again hold exactly what is available.
            in_lots = sum(lot.points for lot in self.lots if not lot.pending)
            self._consume(in_lots - max(self.available, 0))
            self._entry(LedgerEntryKind.MERGE, available, description)
        pending = sorted(
            (lot for lot in lots if lot.pending), key=lambda lot: lot.available_at or self.now
        )
        slots = ENTRY_SLOTS - len(self.entries)
        groups: list[list[PointsLot]] = [[lot] for lot in pending[: slots - 1]]
        if len(pending) >= slots:
            groups.append(pending[slots - 1 :])
        for group in groups:
            seq, until = self.next_seq, group[-1].available_at
            points = sum(lot.points for lot in group)
            self.lots.extend(replace(lot, seq=seq, available_at=until) for lot in group)
            self.pending += points
            self._entry(LedgerEntryKind.MERGE, points, description, pending_until=until)
        self.lots.sort(key=lambda lot: lot.seq)

    def give_back(self, seqs: set[int], owed: int, description: str) -> tuple[list[PointsLot], int]:
        """Undo a merge on the survivor: the lots opened by `seqs` leave as they are now, and
        `owed` more points (what moved in and was spent here since) from other available
        points, then as the program's policy says (a debt, or written off).

        Returns the lots that left and the points written off."""
        leaving = [lot for lot in self.lots if lot.seq in seqs]
        self.lots = [lot for lot in self.lots if lot.seq not in seqs]
        pending = sum(lot.points for lot in leaving if lot.pending)
        available = sum(lot.points for lot in leaving if not lot.pending)
        self.pending -= pending
        taken = self._consume(min(owed, max(self.available - available, 0)))
        short = owed - taken
        written_off = 0
        if short > 0 and self.program.points.negative_balance is not NegativeBalancePolicy.ALLOW:
            written_off, short = short, 0
        self.available -= available + taken + short
        if available + taken + short:
            self._entry(LedgerEntryKind.MERGE, -(available + taken + short), description)
        if pending:
            until = max(lot.available_at or self.now for lot in leaving)
            self._entry(LedgerEntryKind.MERGE, -pending, description, pending_until=until)
        return leaving, written_off

    def hand_over(self, description: str) -> None:
        """Everything held leaves (to the survivor of a merge): the entries take the balance
        to zero on each side of pending and available, so both still sum to the ledger."""
        if self.available != 0:
            self._entry(LedgerEntryKind.MERGE, -self.available, description)
            self.available = 0
        if self.pending:
            pending_until = max(lot.available_at or self.now for lot in self.lots)
            points, self.pending = self.pending, 0
            self._entry(LedgerEntryKind.MERGE, -points, description, pending_until=pending_until)
        self.lots = []

    def release_due(self) -> int:
        """Pending lots whose return window has passed become available (debt first)."""
        released = 0
        due = [lot for lot in self.lots if lot.available_at and lot.available_at <= self.now]
        for lot in due:
            self.lots.remove(lot)
            self.pending -= lot.points
            released += lot.points
            self.released.append(lot.seq)
            repay = min(max(-self.available, 0), lot.points)
            self.available += lot.points
            if lot.points > repay:
                self.lots.append(replace(lot, points=lot.points - repay, available_at=None))
        self.lots.sort(key=lambda lot: lot.seq)
        return released

    def expire(self, description: str, *, everything: bool = False) -> EntryDraft | None:
        """Available lots past their expiry (or all of them, for inactivity) expire, once:
        an expired lot is gone from the member, so it cannot expire again."""
        due = [
            lot
            for lot in self.lots
            if not lot.pending
            and (everything or (lot.expires_at is not None and lot.expires_at <= self.now))
        ]
        points = sum(lot.points for lot in due)
        if points == 0:
            return None
        self.lots = [lot for lot in self.lots if lot not in due]
        self.available -= points
        return self._entry(LedgerEntryKind.EXPIRY, -points, description)


def expiring_soon(member: Member, now: datetime, program: ProgramDef) -> list[tuple[datetime, int]]:
    """(expiresAt, points) of available lots due within the notice window, soonest first;
    lots expiring at the same moment are shown together."""
    horizon = now.timestamp() + program.points.notice_days * 86400
    if program.points.expiry is ExpiryPolicy.INACTIVITY:
        held = sum(lot.points for lot in member.lots if not lot.pending)
        at = member.dormant_at
        return [(at, held)] if at is not None and held and at.timestamp() <= horizon else []
    due: dict[datetime, int] = {}
    for lot in member.lots:
        if lot.expires_at is not None and not lot.pending and lot.expires_at.timestamp() <= horizon:
            due[lot.expires_at] = due.get(lot.expires_at, 0) + lot.points
    return sorted(due.items())


def inactivity_due(member: Member, program: ProgramDef, now: datetime) -> bool:
    return (
        program.points.expiry is ExpiryPolicy.INACTIVITY
        and member.dormant_at is not None
        and member.dormant_at <= now
    )
