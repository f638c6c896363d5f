"""What a rule decides: the member's next state plus the records that go with it.

The persistence layer commits an Outcome as one unit: the member at `version + 1`, its ledger
entries and issued rewards, or nothing at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from loyalty.model import (
    ChangeKind,
    IssuedReward,
    IssuedRewardStatus,
    LedgerEntryKind,
    LedgerEntryStatus,
    Member,
)
from loyalty.program import Channel


@dataclass(frozen=True)
class EntryDraft:
    """A ledger entry before it has an id."""

    kind: LedgerEntryKind
    points: int
    balance_after: int
    status: LedgerEntryStatus
    description: str
    occurred_at: datetime
    channel: Channel | None = None
    store_id: str | None = None
    reason: str | None = None
    available_at: datetime | None = None
    order_id: str | None = None


@dataclass(frozen=True)
class IssueDraft:
    """A reward code to issue, before it has an id."""

    reward_id: str
    code: str
    issued_at: datetime
    expires_at: datetime | None
    status: IssuedRewardStatus = IssuedRewardStatus.ACTIVE


@dataclass(frozen=True)
class Outcome:
    member: Member  # the state after the change, version already raised by one
    changes: tuple[ChangeKind, ...]
    entries: tuple[EntryDraft, ...] = ()
    issue: IssueDraft | None = None
    used_reward: IssuedReward | None = None  # an issued reward whose status this change moves
    store_id: str | None = None


def advance(before: Member, after: Member, changes: list[ChangeKind], now: datetime) -> Member:
    """`after` at version + 1, with the change kinds stamped and the activity time moved on."""
    version = before.version + 1
    stamped = dict(before.change_versions)
    for kind in changes:
        stamped[kind.value] = version
    return replace(after, version=version, change_versions=stamped, last_activity_at=now)


@dataclass(frozen=True)
class Context:
    """Who asks, where, and when: passed into every rule (rules never read the clock)."""

    now: datetime
    actor: str
    channel: Channel | None = None
    store_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
