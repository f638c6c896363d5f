"""Challenges from the program file: progress from purchases and activities, a bonus once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from loyalty.model import ChallengeState, Member
from loyalty.program import ActivityKind, ChallengeDef, ChallengeKind, ChallengePeriod, ProgramDef
from loyalty.tiers import month_key


@dataclass(frozen=True)
class Step:
    """What one purchase or activity contributes to challenges."""

    store_id: str | None = None
    categories: tuple[tuple[str, int], ...] = ()  # (category, quantity) of the lines
    activity: ActivityKind | None = None


def period_of(challenge: ChallengeDef, now: datetime) -> str:
    return month_key(now) if challenge.period is ChallengePeriod.MONTH else "ever"


def current(member: Member, challenge: ChallengeDef, now: datetime) -> ChallengeState:
    """The member's state in this challenge's current period (fresh when a new one began)."""
    period = period_of(challenge, now)
    state = member.challenges.get(challenge.id)
    return state if state is not None and state.period == period else ChallengeState(period)


def _advance(challenge: ChallengeDef, state: ChallengeState, step: Step) -> ChallengeState:
    if state.completed:
        return state
    if challenge.kind is ChallengeKind.DISTINCT_STORES:
        if step.store_id is None or step.store_id in state.seen:
            return state
        seen = (*state.seen, step.store_id)
        return ChallengeState(state.period, len(seen), seen, len(seen) >= challenge.goal)
    if challenge.kind is ChallengeKind.CATEGORY_ITEMS:
        items = sum(q for c, q in step.categories if c == challenge.category)
    else:
        items = 1 if step.activity is challenge.activity else 0
    if items == 0:
        return state
    done = min(state.progress + items, challenge.goal)
    return ChallengeState(state.period, done, (), done >= challenge.goal)


@dataclass(frozen=True)
class Progress:
    states: dict[str, ChallengeState]
    completed: tuple[ChallengeDef, ...]  # completed by this step: each pays its bonus once
    changed: bool  # whether the step moved any challenge


def progress(member: Member, step: Step, program: ProgramDef, now: datetime) -> Progress:
    """The member's challenge states after `step`, and the challenges it just completed.

    Only challenges with state are kept, each in its current period, so the map stays as
    small as the program's list.
    """
    states: dict[str, ChallengeState] = {}
    completed: list[ChallengeDef] = []
    changed = False
    for challenge in program.challenges:
        before = current(member, challenge, now)
        after = _advance(challenge, before, step)
        changed = changed or after != before
        if after.completed and not before.completed:
            completed.append(challenge)
        if after.progress or after.completed:
            states[challenge.id] = after
    return Progress(states, tuple(completed), changed)
