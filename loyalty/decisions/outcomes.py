"""What surfaces report about an action: SHOWN, CLICKED, DISMISSED, CONVERTED, SENT.

SHOWN and SENT count toward the channel's caps; SHOWN or CLICKED of a tier celebration
acknowledges it on that channel. These only move counters: the member keeps its version and
nothing is pushed. DISMISSED cools the action down on that channel and CONVERTED closes its
storyline on every channel (the app stops showing what the till just redeemed); both change
what surfaces show, so they raise the version and are pushed on memberUpdated as
ACTION_RECORDED.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from enum import Enum

from loyalty.changes import Outcome, advance
from loyalty.decisions import orchestration
from loyalty.decisions.actions import ActionKind, kind_of, storyline
from loyalty.errors import DomainError, ErrorCode
from loyalty.model import ChangeKind, Member
from loyalty.program import Channel, ProgramDef


class ActionOutcome(str, Enum):
    SHOWN = "SHOWN"
    CLICKED = "CLICKED"
    DISMISSED = "DISMISSED"
    CONVERTED = "CONVERTED"
    SENT = "SENT"


def action_id(member_id: str, key: str) -> str:
    """The id clients see: stable for (member, action)."""
    return f"{member_id}/{key}"


def parse_action_id(action_id: str) -> tuple[str, str]:
    member_id, _, key = action_id.partition("/")
    if not member_id or kind_of(key) is None or len(action_id) > 300:
        raise DomainError(ErrorCode.INVALID_INPUT, "not an action id", ("input", "actionId"))
    return member_id, key


def record_outcome(
    member: Member,
    key: str,
    outcome: ActionOutcome,
    channel: Channel,
    program: ProgramDef,
    now: datetime,
) -> Outcome:
    d = program.decisions
    e = member.engagement
    kind = kind_of(key)
    if outcome in (ActionOutcome.SHOWN, ActionOutcome.SENT):
        e = orchestration.counted(e, channel, now)
    if kind is ActionKind.TIER_CELEBRATION and outcome is not ActionOutcome.SENT:
        tier = key.partition(":")[2]
        channels = list(Channel) if outcome is ActionOutcome.CONVERTED else [channel]
        e = replace(e, celebrated={**e.celebrated, **{c.value: tier for c in channels}})
    if outcome is ActionOutcome.DISMISSED:
        e = orchestration.cooled(e, channel, key, now, d.cooldown_days)
    if outcome is ActionOutcome.CONVERTED:
        e = orchestration.closing(e, storyline(key), now, d.closed_days)
        if kind is ActionKind.WIN_BACK and d.win_back.reward:
            # The incentive came with it: what was just used is not offered again elsewhere.
            e = orchestration.closing(e, f"reward:{d.win_back.reward}", now, d.closed_days)
    after = replace(member, engagement=e)
    if outcome not in (ActionOutcome.DISMISSED, ActionOutcome.CONVERTED):
        return Outcome(member=after, changes=())
    changes = [ChangeKind.ACTION_RECORDED]
    return Outcome(
        member=advance(member, after, changes, now, active=False), changes=tuple(changes)
    )
