"""Next best actions: what to do next for a member, and the surface asking."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.enums import ActionKind, Channel
from schema.rewards import Reward


@strawberry.type(description="What to do next for this member on this channel, and why.")
class NextBestAction:
    id: strawberry.ID = strawberry.field(description="Stable for (member, action).")
    kind: ActionKind
    channel: Channel = strawberry.field(description="Where to show or send it.")
    title: str
    message: str
    reward: Reward | None
    score: float = strawberry.field(description="Higher is better; actions come sorted by score.")
    reasons: list[str] = strawberry.field(description="Why this action was chosen, in plain words.")


@strawberry.input(description="The surface asking for decisions.")
class DecisionContext:
    channel: Channel
    store_id: strawberry.ID | None = None
    at: datetime | None = strawberry.field(default=None, description="Defaults to now.")
