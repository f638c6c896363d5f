"""Tiers: which one a member holds for its qualifying points, and how far the next one is."""

from __future__ import annotations

from dataclasses import dataclass

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
