"""What a rule decides: the member's next state plus the records that go with it.

The persistence layer commits an Outcome as one unit: the member at `version + 1`, its ledger
entries and issued rewards, or nothing at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from loyalty.decisions.notice import Notice
from loyalty.model import (
    ChangeKind,
    IssuedReward,
    IssuedRewardStatus,
    LedgerEntry,
    LedgerEntryKind,
    LedgerEntryStatus,
    Member,
)
from loyalty.program import Channel

ENTRY_SLOTS = 16  # entries one change may write; seq = version * ENTRY_SLOTS + position


def entry_seq(version: int, position: int) -> int:
    """The seq the entry at `position` of the change that makes `version` will have."""
    return version * ENTRY_SLOTS + position


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
    amount: str | None = None
    reverses: str | None = None  # the id of the entry a REVERSAL takes back


@dataclass(frozen=True)
class IssueDraft:
    """A reward code to issue, before it has an id."""

    reward_id: str
    code: str
    issued_at: datetime
    expires_at: datetime | None
    status: IssuedRewardStatus = IssuedRewardStatus.ACTIVE


@dataclass(frozen=True)
class EntryMark:
    """A change to an earlier entry: reversed by one of this change's entries, or returned."""

    entry_id: str
    reversed_by: int | None = None  # position in Outcome.entries of the reversing entry
    returned_amount: str | None = None
    returned_points: int | None = None


@dataclass(frozen=True)
class Related:
    """A change of another member that commits in the same transaction (a referrer's bonus).

    `apply` is a pure rule on that member's state; None means nothing to do after all.
    """

    member_id: str
    apply: Callable[[Member, list[LedgerEntry]], Outcome | None]
    order_id: str | None = None  # that member's entries with this order id are passed in


@dataclass(frozen=True)
class Outcome:
    member: Member  # the state after the change, version already raised by one
    changes: tuple[ChangeKind, ...]
    entries: tuple[EntryDraft, ...] = ()
    issue: IssueDraft | None = None
    used_reward: IssuedReward | None = None  # an issued reward whose status this change moves
    store_id: str | None = None
    marks: tuple[EntryMark, ...] = ()
    released: tuple[int, ...] = ()  # seqs of PENDING entries that became AVAILABLE
    related: tuple[Related, ...] = ()
    limit_reached: str | None = None  # why an activity earned nothing (recorded anyway)
    # A merge: the member whose identifiers and issued rewards (these ids) become ours.
    absorbs: str | None = None
    adopt_rewards: tuple[str, ...] = ()
    joins_guests: tuple[str, ...] = ()  # guest profiles (identifier keys) this change takes in
    # What the change did, for the audit trail: kinds and counts, never a personal value.
    details: tuple[tuple[str, str | int], ...] = ()
    # Notification intents the change triggers (loyalty/decisions/journeys.py).
    notices: tuple[Notice, ...] = ()


def advance(
    before: Member,
    after: Member,
    changes: list[ChangeKind],
    now: datetime,
    *,
    active: bool = True,
) -> Member:
    """`after` at version + 1, with the change kinds stamped and, for the member's own doings
    (not scheduled jobs or corrections), the activity time moved on."""
    version = before.version + 1
    stamped = dict(before.change_versions)
    for kind in changes:
        stamped[kind.value] = version
    moved = replace(after, version=version, change_versions=stamped)
    return replace(moved, last_activity_at=now) if active else moved


@dataclass(frozen=True)
class Context:
    """Who asks, where, and when: passed into every rule (rules never read the clock)."""

    now: datetime
    actor: str
    channel: Channel | None = None
    store_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
