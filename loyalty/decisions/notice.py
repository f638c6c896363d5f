"""A notification intent: what a journey wants email, SMS and push senders to send."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from loyalty.channel import Channel


class Journey(str, Enum):
    WELCOME = "WELCOME"
    EARN_TO_REDEEM = "EARN_TO_REDEEM"
    WIN_BACK = "WIN_BACK"
    TIER_UPGRADE = "TIER_UPGRADE"
    BIRTHDAY = "BIRTHDAY"
    POINTS_EXPIRING = "POINTS_EXPIRING"


class NoticeStatus(str, Enum):
    PENDING = "PENDING"  # for the sender of `channel`, not before `not_before`
    SUPPRESSED = "SUPPRESSED"  # kept for the record: no consent or a cap; `reason` says which


@dataclass(frozen=True)
class Notice:
    key: str  # unique per member: a replayed change writes the same intent once
    journey: Journey
    channel: Channel | None  # None when no consented channel exists
    title: str
    message: str
    status: NoticeStatus
    created_at: datetime
    not_before: datetime  # the end of the quiet hours when created inside them
    reward_id: str | None = None
    reason: str | None = None
