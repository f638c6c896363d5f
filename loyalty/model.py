"""The member's state as the rules see it: plain frozen dataclasses, no persistence concerns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from loyalty.decisions.state import Engagement
from loyalty.program import Channel


class IdentifierKind(str, Enum):
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    LOYALTY_CARD = "LOYALTY_CARD"
    DEVICE_TOKEN = "DEVICE_TOKEN"
    WEB_COOKIE = "WEB_COOKIE"
    EXTERNAL_ID = "EXTERNAL_ID"


class ChangeKind(str, Enum):
    ENROLLED = "ENROLLED"
    PROFILE_UPDATED = "PROFILE_UPDATED"
    IDENTIFIER_LINKED = "IDENTIFIER_LINKED"
    IDENTIFIER_UNLINKED = "IDENTIFIER_UNLINKED"
    MERGED = "MERGED"
    POINTS_EARNED = "POINTS_EARNED"
    POINTS_REDEEMED = "POINTS_REDEEMED"
    POINTS_REVERSED = "POINTS_REVERSED"
    POINTS_ADJUSTED = "POINTS_ADJUSTED"
    POINTS_EXPIRED = "POINTS_EXPIRED"
    REWARD_ISSUED = "REWARD_ISSUED"
    REWARD_USED = "REWARD_USED"
    TIER_CHANGED = "TIER_CHANGED"
    CHALLENGE_PROGRESSED = "CHALLENGE_PROGRESSED"
    # Beside the contract: pending points became spendable (a scheduled release).
    POINTS_RELEASED = "POINTS_RELEASED"
    # Beside the contract: an activity was recorded (it may have earned nothing).
    ACTIVITY_RECORDED = "ACTIVITY_RECORDED"
    # Beside the contract: a merge was undone (on both members).
    UNMERGED = "UNMERGED"
    # Beside the contract: a next best action was dismissed or converted (what surfaces show
    # changed); shown, clicked and sent only move counters and publish nothing.
    ACTION_RECORDED = "ACTION_RECORDED"


class LedgerEntryKind(str, Enum):
    EARN = "EARN"
    BONUS = "BONUS"
    REDEEM = "REDEEM"
    REVERSAL = "REVERSAL"
    ADJUSTMENT = "ADJUSTMENT"
    EXPIRY = "EXPIRY"
    MERGE = "MERGE"


class LedgerEntryStatus(str, Enum):
    PENDING = "PENDING"
    AVAILABLE = "AVAILABLE"


class IssuedRewardStatus(str, Enum):
    ACTIVE = "ACTIVE"
    REDEEMED = "REDEEMED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class Identifier:
    kind: IdentifierKind
    value: str  # normalised
    verified: bool
    linked_at: datetime


@dataclass(frozen=True)
class Consents:
    email: bool = False
    sms: bool = False
    push: bool = False
    personalization: bool = False


@dataclass(frozen=True)
class Profile:
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    birthday: str | None = None
    preferred_channel: Channel | None = None
    preferred_store_id: str | None = None
    consents: Consents = field(default_factory=Consents)
    # Zero-party data: what the member told us when completing the profile (key -> answer).
    answers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Balance:
    available: int = 0
    pending: int = 0
    lifetime: int = 0


@dataclass(frozen=True)
class TierState:
    tier_id: str
    qualifying_points: int  # inside the rolling window, as of the last change
    since: datetime
    # Qualifying points per calendar month ("YYYY-MM", points), only months inside the window:
    # the rolling sum is exact and the list stays as short as the window.
    months: tuple[tuple[str, int], ...] = ()
    below_since: datetime | None = None  # first re-evaluation that found the points too low
    review_at: datetime | None = None  # the next re-evaluation (None on the first tier)
    previous: str | None = None  # the tier held before `since`, so a TIER_CHANGED shows both


@dataclass(frozen=True)
class PointsLot:
    """Points earned together, spent and expired together, oldest first.

    `seq` is the ledger entry that created the lot, so a reversal finds what is left of it.
    """

    seq: int
    points: int  # still open
    earned_at: datetime
    expires_at: datetime | None
    available_at: datetime | None = None  # set while pending: when the points become spendable

    @property
    def pending(self) -> bool:
        return self.available_at is not None


@dataclass(frozen=True)
class ChallengeState:
    period: str  # "YYYY-MM" or "ever"
    progress: int = 0
    seen: tuple[str, ...] = ()  # distinct stores counted this period
    completed: bool = False


@dataclass(frozen=True)
class Member:
    id: str
    version: int
    enrolled_at: datetime
    enrollment_channel: Channel
    profile: Profile
    identifiers: tuple[Identifier, ...]
    balance: Balance
    tier: TierState
    last_activity_at: datetime | None = None
    referred_by: str | None = None
    # The last version at which each kind of change happened: the union of kinds since
    # any version is exact and costs nothing to keep (14 keys at most).
    change_versions: dict[str, int] = field(default_factory=dict)
    lots: tuple[PointsLot, ...] = ()  # open lots only: bounded by what the member holds
    # Activity caps: "KIND:window[:key]" -> count; windowed keys are dropped once past.
    counters: dict[str, int] = field(default_factory=dict)
    challenges: dict[str, ChallengeState] = field(default_factory=dict)
    referral_paid: bool = False  # the referrer's bonus for this member was paid
    birthday_year: int | None = None  # the last year the birthday bonus was given
    dormant_at: datetime | None = None  # inactivity expiry: when everything expires
    # Set on a merged member (a tombstone): the member it now lives on, and what the merge did.
    merged_into: str | None = None
    merge: MergeRecord | None = None
    merged_from: tuple[str, ...] = ()  # on a survivor: the members merged into it, oldest first
    # Activity counts by kind from before enrolment (a guest's cookie or device), for decisions.
    guest_activity: tuple[tuple[str, int], ...] = ()
    # What decisioning keeps: purchase cadence, caps, cooldowns, journeys (decisions/state.py).
    engagement: Engagement = field(default_factory=Engagement)

    def changes_since(self, version: int) -> list[ChangeKind]:
        """Every kind of change after `version`, in the enum's order."""
        return [k for k in ChangeKind if self.change_versions.get(k.value, 0) > version]


@dataclass(frozen=True)
class MergeRecord:
    """Kept on the merged member: who merged it into whom, when and why, and its state just
    before, so that an unmerge can give back what moved."""

    survivor_id: str
    at: datetime
    actor: str
    reason: str
    before: Member  # the merged member as it was at the merge
    moved_rewards: tuple[str, ...] = ()  # issued rewards that moved to the survivor
    survivor_version: int = 0  # the survivor's version the merge made: its entries' seqs
    survivor_tier: str | None = None  # the survivor's tier before the merge


@dataclass(frozen=True)
class LedgerEntry:
    id: str
    member_id: str
    seq: int  # orders a member's entries: version * 16 + position within the change
    kind: LedgerEntryKind
    points: int
    balance_after: int  # available + pending after this entry: the running sum of points
    channel: Channel | None
    store_id: str | None
    description: str
    reason: str | None
    occurred_at: datetime
    recorded_at: datetime
    status: LedgerEntryStatus
    available_at: datetime | None
    actor: str
    order_id: str | None = None
    reversed_by: str | None = None
    amount: str | None = None  # the purchase amount (Decimal as text), for partial returns
    returned_amount: str | None = None  # returned so far
    returned_points: int = 0  # points taken back so far by partial returns
    reverses: str | None = None  # for a REVERSAL: the entry it takes back
    via: str | None = None  # the merged member's id a write was addressed to, when it was


@dataclass(frozen=True)
class IssuedReward:
    id: str
    member_id: str
    reward_id: str
    code: str
    status: IssuedRewardStatus
    issued_at: datetime
    expires_at: datetime | None
    used_at: datetime | None = None
    used_channel: Channel | None = None
    used_store_id: str | None = None
