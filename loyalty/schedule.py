"""The scheduled work on one member: pending release, expiry, birthday bonus and tier
re-evaluation. `run_due` is idempotent: once applied, nothing it did is due again, so a job
interrupted and run again has one effect."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from loyalty.changes import Context, Outcome, advance
from loyalty.model import ChangeKind, LedgerEntryKind, Member
from loyalty.points import Book, inactivity_due
from loyalty.program import ExpiryPolicy, ProgramDef
from loyalty.tiers import add_months, re_evaluate


def birthday_due(member: Member, program: ProgramDef) -> datetime | None:
    """The start of the next birthday month the bonus has not been given for."""
    if program.birthday.bonus <= 0 or not member.profile.birthday:
        return None
    month = int(member.profile.birthday[5:7])
    if member.birthday_year is not None:
        year = member.birthday_year + 1
    else:
        joined = member.enrolled_at
        year = joined.year if joined.month <= month else joined.year + 1
    return datetime(year, month, 1, tzinfo=UTC)


def due_at(member: Member, program: ProgramDef) -> datetime | None:
    """The earliest moment scheduled work falls due for the member (None: nothing ever)."""
    times: list[datetime] = []
    for lot in member.lots:
        if lot.available_at is not None:
            times.append(lot.available_at)
        elif lot.expires_at is not None and program.points.expiry is ExpiryPolicy.FIFO:
            times.append(lot.expires_at)
    holds = any(not lot.pending for lot in member.lots)
    if program.points.expiry is ExpiryPolicy.INACTIVITY and member.dormant_at and holds:
        times.append(member.dormant_at)
    if member.tier.review_at is not None:
        times.append(member.tier.review_at)
    birthday = birthday_due(member, program)
    if birthday is not None:
        times.append(birthday)
    return min(times) if times else None


def run_due(member: Member, program: ProgramDef, now: datetime, actor: str) -> Outcome:
    """Everything due at `now`, as one change. `changes` is empty when only bookkeeping moved
    (a re-evaluation that kept the tier): the writer then stores it without a new version."""
    book = Book(member, program, now)
    changes: list[ChangeKind] = []
    released = book.release_due()
    if released:
        changes.append(ChangeKind.POINTS_RELEASED)
    if inactivity_due(member, program, now):
        expired = book.expire("Points expired after a period of inactivity", everything=True)
    elif program.points.expiry is ExpiryPolicy.FIFO:
        expired = book.expire("Points expired (oldest first)")
    else:
        expired = None
    if expired is not None:
        changes.append(ChangeKind.POINTS_EXPIRED)
    after = member
    due = birthday_due(member, program)
    if due is not None and due <= now:
        year = due.year  # a run that missed whole months skips to the latest birthday month
        while datetime(year + 1, due.month, 1, tzinfo=UTC) <= now:
            year += 1
        if now < add_months(datetime(year, due.month, 1, tzinfo=UTC), 1):
            book.earn(LedgerEntryKind.BONUS, program.birthday.bonus, "Happy birthday!")
            changes.append(ChangeKind.POINTS_EARNED)
        after = replace(after, birthday_year=year)
    if member.tier.review_at is not None and member.tier.review_at <= now:
        tier = re_evaluate(member.tier, now, program)
        if tier.tier_id != member.tier.tier_id:
            changes.append(ChangeKind.TIER_CHANGED)
        after = replace(after, tier=tier)
    after = book.apply(after)
    ctx = Context(now=now, actor=actor)
    if not changes:
        return Outcome(member=after, changes=())
    return Outcome(
        member=advance(member, after, changes, ctx.now, active=False),
        changes=tuple(changes),
        entries=tuple(book.entries),
        released=tuple(book.released),
    )
