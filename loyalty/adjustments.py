"""Corrections by agents and admins: signed points with a reason, never below zero."""

from __future__ import annotations

from loyalty.changes import Context, Outcome, advance
from loyalty.errors import DomainError, ErrorCode
from loyalty.model import ChangeKind, Member
from loyalty.points import Book
from loyalty.program import INT32_MAX, ProgramDef

MAX_ADJUSTMENT = 1_000_000
MAX_REASON = 500


def check_reason(reason: str) -> str:
    text = " ".join(reason.split())
    if not text or len(text) > MAX_REASON:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"give a reason of 1 to {MAX_REASON} characters",
            ("input", "reason"),
        )
    return text


def check_agent_limit(points: int, limit: int) -> None:
    """An agent corrects within a limit; larger corrections are an admin's."""
    if abs(points) > limit:
        raise DomainError(
            ErrorCode.FORBIDDEN,
            f"an agent adjusts at most {limit} points at once; ask an admin",
            ("input", "points"),
        )


def adjust(member: Member, points: int, reason: str, program: ProgramDef, ctx: Context) -> Outcome:
    """Add or remove points. Added points are spendable at once (they repay a debt first) and
    are not counted as earned; removing more than is available is refused."""
    field = ("input", "points")
    if points == 0 or abs(points) > MAX_ADJUSTMENT:
        raise DomainError(
            ErrorCode.INVALID_INPUT, f"give a non-zero number up to {MAX_ADJUSTMENT}", field
        )
    text = check_reason(reason)
    book = Book(member, program, ctx.now)
    if points > 0:
        if member.balance.available + member.balance.pending + points > INT32_MAX:
            raise DomainError(ErrorCode.INVALID_INPUT, "the balance would overflow", field)
        book.grant(points, f"Adjustment by {ctx.actor}", text)
    else:
        if -points > member.balance.available:
            raise DomainError(
                ErrorCode.INSUFFICIENT_POINTS,
                f"only {max(member.balance.available, 0)} points are available to remove",
                field,
            )
        book.deduct(-points, f"Adjustment by {ctx.actor}", text)
    changes = [ChangeKind.POINTS_ADJUSTED]
    return Outcome(
        member=advance(member, book.apply(member), changes, ctx.now, active=False),
        changes=tuple(changes),
        entries=tuple(book.entries),
    )
