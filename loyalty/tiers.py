"""Tiers: which one a member holds for its qualifying points, and how far the next one is."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from loyalty.model import TierState
from loyalty.program import ProgramDef, TierDef


@dataclass(frozen=True)
class TierProgress:
    current: TierDef
    next: TierDef | None
    points_to_next: int | None
    progress: float  # 0.0 .. 1.0 towards `next`; 1.0 at the top tier


def tier_for(qualifying_points: int, program: ProgramDef) -> TierDef:
    """The highest tier whose threshold the points reach (tiers ascend; the first is 0)."""
    held = program.tiers[0]
    for tier in program.tiers:
        if qualifying_points >= tier.threshold:
            held = tier
    return held


def progress_of(qualifying_points: int, current: TierDef, program: ProgramDef) -> TierProgress:
    """Progress from the tier held towards the one above it."""
    above = [t for t in program.tiers if t.threshold > current.threshold]
    if not above:
        return TierProgress(current, None, None, 1.0)
    upcoming = above[0]
    span = upcoming.threshold - current.threshold
    done = min(max(qualifying_points - current.threshold, 0), span)
    return TierProgress(
        current=current,
        next=upcoming,
        points_to_next=max(upcoming.threshold - qualifying_points, 0),
        progress=done / span,
    )


def month_key(at: datetime) -> str:
    return f"{at.year:04d}-{at.month:02d}"


def add_months(at: datetime, months: int) -> datetime:
    """The same day `months` calendar months later (or earlier), clamped to the month's end."""
    index = at.year * 12 + at.month - 1 + months
    year, month = divmod(index, 12)
    day = min(at.day, calendar.monthrange(year, month + 1)[1])
    return at.replace(year=year, month=month + 1, day=day)


def month_start(at: datetime) -> datetime:
    return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def first_window_month(now: datetime, program: ProgramDef) -> str:
    """The oldest month inside the rolling window that ends with `now`'s month."""
    return month_key(add_months(month_start(now), -(program.tiering.qualifying_months - 1)))


def qualifying_at(state: TierState, now: datetime, program: ProgramDef) -> int:
    """Qualifying points inside the window as of `now`: months that left it no longer count."""
    oldest = first_window_month(now, program)
    return sum(points for month, points in state.months if month >= oldest)


def rank(tier_id: str, program: ProgramDef) -> int:
    return [t.id for t in program.tiers].index(tier_id)


def _next_review(now: datetime, below_since: datetime | None, program: ProgramDef) -> datetime:
    upcoming = add_months(month_start(now), 1)
    if below_since is not None:
        return min(upcoming, below_since + timedelta(days=program.tiering.grace_days))
    return upcoming


def with_qualifying(
    state: TierState, points: int, month: str, now: datetime, program: ProgramDef
) -> TierState:
    """Add (or, for a reversal, take away) qualifying points of `month`; old months drop out."""
    oldest = first_window_month(now, program)
    months = dict(state.months)
    if month >= oldest:
        months[month] = max(months.get(month, 0) + points, 0)
    kept = tuple(sorted((m, p) for m, p in months.items() if m >= oldest and p > 0))
    held = replace(state, months=kept)
    return replace(held, qualifying_points=qualifying_at(held, now, program))


def upgrade(state: TierState, now: datetime, program: ProgramDef) -> TierState:
    """Up at once when the points cross a higher threshold; never down here."""
    reached = tier_for(qualifying_at(state, now, program), program)
    if rank(reached.id, program) <= rank(state.tier_id, program):
        return state
    return replace(
        state,
        tier_id=reached.id,
        since=now,
        below_since=None,
        review_at=_next_review(now, None, program),
        previous=state.tier_id,
    )


def re_evaluate(state: TierState, now: datetime, program: ProgramDef) -> TierState:
    """The scheduled look at the window: up if crossed, down only after the grace period."""
    points = qualifying_at(state, now, program)
    held = replace(state, qualifying_points=points)
    reached = tier_for(points, program)
    if rank(reached.id, program) >= rank(state.tier_id, program):
        held = upgrade(replace(held, below_since=None), now, program)
    elif state.below_since is None and program.tiering.grace_days > 0:
        held = replace(held, below_since=now)
    elif state.below_since is None or now >= state.below_since + timedelta(
        days=program.tiering.grace_days
    ):
        held = replace(
            held, tier_id=reached.id, since=now, below_since=None, previous=state.tier_id
        )
    base = held.tier_id == program.tiers[0].id
    review = None if base else _next_review(now, held.below_since, program)
    return replace(held, review_at=review)
