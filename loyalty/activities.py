"""Earning for behaviour other than buying, within each kind's cap.

An activity over its cap is still recorded (the member's activity moves on, challenges and
decisions see it) but earns nothing, and the outcome says why.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from loyalty import challenges
from loyalty.changes import Context, Outcome
from loyalty.errors import DomainError, ErrorCode
from loyalty.model import ChangeKind, LedgerEntryKind, Member
from loyalty.points import Book
from loyalty.program import ActivityKind, ProgramDef
from loyalty.purchases import settle

MAX_ANSWERS = 30
ONCE = (ActivityKind.APP_DOWNLOAD, ActivityKind.PROFILE_COMPLETED)


def _window(kind: ActivityKind, at: datetime) -> str | None:
    """The period a capped kind counts in; None for kinds counted once for ever or never."""
    if kind is ActivityKind.STORE_VISIT:
        return at.date().isoformat()
    if kind is ActivityKind.REVIEW:
        return f"{at.year:04d}-{at.month:02d}"
    if kind is ActivityKind.SOCIAL_SHARE:
        year, week, _ = at.isocalendar()
        return f"{year:04d}-W{week:02d}"
    return None


def counter_key(kind: ActivityKind, at: datetime, store_id: str | None, survey: str | None) -> str:
    window = _window(kind, at)
    if kind is ActivityKind.STORE_VISIT:
        return f"{kind.value}:{window}:{store_id}"
    if kind is ActivityKind.SURVEY:
        return f"{kind.value}:{survey}"
    return f"{kind.value}:{window}" if window else kind.value


def limit_of(kind: ActivityKind, program: ProgramDef) -> int | None:
    """How many times the kind earns in its window; None = no limit."""
    if kind in ONCE or kind in (ActivityKind.STORE_VISIT, ActivityKind.SURVEY):
        return 1
    if kind in (ActivityKind.REVIEW, ActivityKind.SOCIAL_SHARE):
        return program.activity(kind).cap
    return None


def check_attributes(
    kind: ActivityKind, attributes: dict[str, str], store_id: str | None
) -> str | None:
    """Each kind's required attributes; returns the survey id for SURVEY."""
    if kind is ActivityKind.STORE_VISIT and store_id is None:
        raise DomainError(
            ErrorCode.INVALID_INPUT, "a store visit needs storeId", ("input", "storeId")
        )
    if kind is ActivityKind.SURVEY:
        survey = attributes.get("surveyId")
        if not survey:
            raise DomainError(
                ErrorCode.INVALID_INPUT,
                "a survey needs attributes.surveyId",
                ("input", "attributes"),
            )
        return survey
    if kind is ActivityKind.PROFILE_COMPLETED and len(attributes) > MAX_ANSWERS:
        raise DomainError(
            ErrorCode.INVALID_INPUT, f"at most {MAX_ANSWERS} answers", ("input", "attributes")
        )
    return None


def _pruned(counters: dict[str, int], kind: ActivityKind, at: datetime) -> dict[str, int]:
    """Drop this kind's counters of windows that have passed, so the map stays small."""
    window = _window(kind, at)
    if window is None:
        return dict(counters)
    prefix = f"{kind.value}:"
    return {
        k: v for k, v in counters.items() if not k.startswith(prefix) or k.split(":")[1] == window
    }


def record_activity(
    member: Member,
    kind: ActivityKind,
    attributes: dict[str, str],
    program: ProgramDef,
    ctx: Context,
    occurred_at: datetime | None = None,
) -> Outcome:
    """Caps count by the time the activity is recorded (`ctx.now`): a backdated activity
    cannot reopen a window that has passed."""
    survey = check_attributes(kind, attributes, ctx.store_id)
    key = counter_key(kind, ctx.now, ctx.store_id, survey)
    counters = _pruned(member.counters, kind, ctx.now)
    count = counters.get(key, 0)
    limit = limit_of(kind, program)
    over = limit is not None and count >= limit
    counters[key] = count + 1
    base = program.activity(kind).points
    multiplier = program.tier(member.tier.tier_id).earn_multiplier
    points = 0 if over else int((Decimal(base) * multiplier).to_integral_value(ROUND_FLOOR))
    book = Book(member, program, ctx.now)
    changes: list[ChangeKind] = [ChangeKind.ACTIVITY_RECORDED]
    if points > 0:
        book.earn(
            LedgerEntryKind.EARN,
            points,
            f"Activity: {kind.value.replace('_', ' ').lower()}",
            channel=ctx.channel,
            store_id=ctx.store_id,
            occurred_at=occurred_at,
        )
        changes.append(ChangeKind.POINTS_EARNED)
    profile = member.profile
    if kind is ActivityKind.PROFILE_COMPLETED and not over and attributes:
        profile = replace(profile, answers=tuple(sorted(attributes.items())))
        changes.append(ChangeKind.PROFILE_UPDATED)
    counted = ctx.store_id if kind is ActivityKind.STORE_VISIT else None
    step = challenges.Step(store_id=counted, activity=kind)
    base_member = replace(member, counters=counters, profile=profile)
    after = settle(base_member, book, changes, step, points, program, ctx)
    why = None
    if over:
        why = f"{kind.value} already earned {limit} time(s) in this period: recorded, no points"
    return Outcome(
        member=after,
        changes=tuple(changes),
        entries=tuple(book.entries),
        store_id=ctx.store_id,
        limit_reached=why,
    )
