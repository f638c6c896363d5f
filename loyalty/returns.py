"""Taking points back: a full reversal, a partial return in proportion, and the bonuses that
depended on the purchase. A reversed entry cannot be reversed again."""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_FLOOR, Decimal

from loyalty.changes import Context, EntryMark, Outcome, Related, advance
from loyalty.errors import DomainError, ErrorCode
from loyalty.model import ChangeKind, LedgerEntry, LedgerEntryKind, Member
from loyalty.points import Book
from loyalty.program import ProgramDef
from loyalty.purchases import referral_key
from loyalty.tiers import month_key, with_qualifying

ENTRY_FIELD = ("input", "entryId")


def check_reversible(entry: LedgerEntry, field: tuple[str, ...] = ENTRY_FIELD) -> None:
    if entry.kind not in (LedgerEntryKind.EARN, LedgerEntryKind.BONUS):
        raise DomainError(
            ErrorCode.INVALID_INPUT, f"a {entry.kind.value} entry cannot be reversed", field
        )
    if entry.reversed_by is not None:
        raise DomainError(ErrorCode.ALREADY_REVERSED, "this entry was already reversed", field)


def _reverse(
    book: Book,
    entry: LedgerEntry,
    points: int,
    description: str,
    reason: str | None,
    full: bool,
    returned_amount: str | None = None,
    returned_points: int | None = None,
) -> tuple[EntryMark, int]:
    """Take `points` of `entry` back; the mark records it on the entry. Returns the mark and
    the qualifying points to remove (only purchase and activity earnings qualify)."""
    position: int | None = None
    if points > 0:
        position = len(book.entries)
        book.take_back(
            entry.seq,
            points,
            description,
            reverses=entry.id,
            reason=reason,
            order_id=entry.order_id,
        )
    elif full:  # nothing left to take, but the entry is closed all the same
        position = len(book.entries)
        book.take_back(entry.seq, 0, description, reverses=entry.id, reason=reason)
    mark = EntryMark(
        entry.id,
        reversed_by=position if full else None,
        returned_amount=returned_amount,
        returned_points=returned_points,
    )
    return mark, points if entry.kind is LedgerEntryKind.EARN else 0


def _finish(
    member: Member,
    book: Book,
    marks: list[EntryMark],
    disqualified: list[tuple[LedgerEntry, int]],
    program: ProgramDef,
    ctx: Context,
    related: tuple[Related, ...] = (),
) -> Outcome:
    tier = member.tier
    for entry, points in disqualified:
        if points:
            tier = with_qualifying(tier, -points, month_key(entry.recorded_at), ctx.now, program)
    changes = [ChangeKind.POINTS_REVERSED]
    after = replace(book.apply(member), tier=tier)
    return Outcome(
        member=advance(member, after, changes, ctx.now, active=False),
        changes=tuple(changes),
        entries=tuple(book.entries),
        marks=tuple(marks),
        related=related,
    )


def _dependents(
    book: Book,
    member: Member,
    entry: LedgerEntry,
    dependents: list[LedgerEntry],
    reason: str | None,
    marks: list[EntryMark],
    program: ProgramDef,
    ctx: Context,
) -> tuple[Related, ...]:
    """Bonuses tied to the purchase (challenges here, the referrer's on its member)."""
    for bonus in dependents:
        if bonus.kind is LedgerEntryKind.BONUS and bonus.reversed_by is None:
            mark, _ = _reverse(
                book,
                bonus,
                bonus.points,
                f"Reversed with {entry.order_id}: {bonus.description}",
                reason,
                True,
            )
            marks.append(mark)
    if member.referred_by is None or entry.order_id is None:
        return ()
    return (reverse_referral(member.referred_by, member.id, entry.order_id, program, ctx),)


def reverse_entry(
    member: Member,
    entry: LedgerEntry,
    dependents: list[LedgerEntry],
    reason: str,
    program: ProgramDef,
    ctx: Context,
) -> Outcome:
    """Reverse an earning in full (what partial returns left of it)."""
    check_reversible(entry)
    book = Book(member, program, ctx.now)
    marks: list[EntryMark] = []
    points = entry.points - entry.returned_points
    mark, qualifying = _reverse(book, entry, points, f"Reversed: {entry.description}", reason, True)
    marks.append(mark)
    related: tuple[Related, ...] = ()
    if entry.kind is LedgerEntryKind.EARN and entry.order_id is not None:
        related = _dependents(book, member, entry, dependents, reason, marks, program, ctx)
    return _finish(member, book, marks, [(entry, qualifying)], program, ctx, related)


def record_return(
    member: Member,
    entry: LedgerEntry,
    returned: Decimal,
    dependents: list[LedgerEntry],
    reason: str | None,
    program: ProgramDef,
    ctx: Context,
) -> Outcome:
    """Goods worth `returned` came back: take back points in proportion to the purchase.

    Computed on the running total, floor(points x returned so far / amount) minus what earlier
    returns took, so several partial returns add up to exactly a full one. Returning the whole
    amount closes the entry and reverses the bonuses that depended on it.
    """
    field = ("input", "orderId")
    check_reversible(entry, field)
    if entry.kind is not LedgerEntryKind.EARN or entry.amount is None:
        raise DomainError(ErrorCode.INVALID_INPUT, "only purchases can be returned", field)
    amount = Decimal(entry.amount)
    total = Decimal(entry.returned_amount or "0") + returned
    if returned <= 0 or total > amount:
        left = amount - Decimal(entry.returned_amount or "0")
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"a return is more than zero and at most the {left} not yet returned",
            ("input", "returnedAmount"),
        )
    owed = int((entry.points * total / amount).to_integral_value(rounding=ROUND_FLOOR))
    full = total == amount
    book = Book(member, program, ctx.now)
    mark, qualifying = _reverse(
        book,
        entry,
        owed - entry.returned_points,
        f"Return of {returned} {program.currency} on {entry.order_id}",
        reason,
        full,
        returned_amount=str(total),
        returned_points=owed,
    )
    marks = [mark]
    related: tuple[Related, ...] = ()
    if full:
        related = _dependents(book, member, entry, dependents, reason, marks, program, ctx)
    return _finish(member, book, marks, [(entry, qualifying)], program, ctx, related)


def reverse_referral(
    referrer_id: str, referee_id: str, order_id: str, program: ProgramDef, ctx: Context
) -> Related:
    """Take back the referrer's bonus when the purchase that paid it is reversed."""

    def apply(referrer: Member, bonuses: list[LedgerEntry]) -> Outcome | None:
        open_ = [b for b in bonuses if b.kind is LedgerEntryKind.BONUS and b.reversed_by is None]
        if not open_:
            return None
        book = Book(referrer, program, ctx.now)
        marks = []
        for bonus in open_:
            mark, _ = _reverse(
                book, bonus, bonus.points, f"Reversed: {bonus.description}", None, True
            )
            marks.append(mark)
        return _finish(referrer, book, marks, [], program, ctx)

    return Related(member_id=referrer_id, apply=apply, order_id=referral_key(referee_id, order_id))
