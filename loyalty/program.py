"""The program definition: currency, point value, earn rate, tiers and the reward catalogue.

Loaded from a TOML file and validated at start; a bad file fails with the path of the bad key.
"""

from __future__ import annotations

import itertools
import tomllib
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from loyalty.channel import Channel as Channel  # re-exported: the rules import it from here
from loyalty.decisions.config import DecisionsDef

INT32_MAX = 2**31 - 1


Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActivityKind(str, Enum):
    APP_SESSION = "APP_SESSION"
    PRODUCT_VIEW = "PRODUCT_VIEW"
    STORE_VISIT = "STORE_VISIT"
    REVIEW = "REVIEW"
    REFERRAL = "REFERRAL"
    SURVEY = "SURVEY"
    SOCIAL_SHARE = "SOCIAL_SHARE"
    APP_DOWNLOAD = "APP_DOWNLOAD"
    SUPPORT_CONTACT = "SUPPORT_CONTACT"
    PROFILE_COMPLETED = "PROFILE_COMPLETED"


class ExpiryPolicy(str, Enum):
    NONE = "none"  # points never expire
    FIFO = "fifo"  # each lot expires `validity_months` after it was earned, oldest first
    INACTIVITY = "inactivity"  # everything expires after `inactivity_months` without activity


class NegativeBalancePolicy(str, Enum):
    ALLOW = "allow"  # a reversal of spent points leaves a debt that blocks redemption
    WRITE_OFF = "write_off"  # the spent part is written off: the balance stops at zero


class ActivityDef(_Strict):
    points: int = Field(0, ge=0, le=1_000_000)
    cap: int | None = Field(
        None, ge=1, le=1000, description="REVIEW: per calendar month; SOCIAL_SHARE: per ISO week."
    )


class PointsPolicy(_Strict):
    expiry: ExpiryPolicy = ExpiryPolicy.NONE
    validity_months: int = Field(12, ge=1, le=120)
    inactivity_months: int = Field(18, ge=1, le=120)
    notice_days: int = Field(30, ge=0, le=365, description="expiringSoon looks this far ahead.")
    negative_balance: NegativeBalancePolicy = NegativeBalancePolicy.ALLOW


class TieringDef(_Strict):
    qualifying_months: int = Field(12, ge=1, le=60, description="The rolling window.")
    grace_days: int = Field(30, ge=0, le=730, description="Below the threshold this long first.")


class ReferralDef(_Strict):
    welcome_bonus: int = Field(0, ge=0, le=1_000_000)
    referrer_bonus: int = Field(0, ge=0, le=1_000_000)


class BirthdayDef(_Strict):
    bonus: int = Field(0, ge=0, le=1_000_000)


class IdentityDef(_Strict):
    unmerge_window_days: int = Field(30, ge=0, le=3650)
    guest_activities_earn: bool = Field(
        False, description="Whether activity before enrolment earns once it joins a member."
    )


class ChallengeKind(str, Enum):
    DISTINCT_STORES = "distinct_stores"  # check-ins (STORE_VISIT) at `goal` different stores
    CATEGORY_ITEMS = "category_items"  # `goal` items of `category` bought
    ACTIVITY = "activity"  # `goal` activities of kind `activity`


class ChallengePeriod(str, Enum):
    MONTH = "month"  # progress restarts each calendar month; paid at most once a month
    EVER = "ever"  # paid once in the member's life


class ChallengeDef(_Strict):
    id: Slug
    name: str = Field(min_length=1)
    kind: ChallengeKind
    goal: int = Field(ge=1, le=10_000)
    reward_points: int = Field(ge=0, le=1_000_000)
    period: ChallengePeriod = ChallengePeriod.MONTH
    category: str | None = None
    activity: ActivityKind | None = None

    @model_validator(mode="after")
    def _needs(self) -> ChallengeDef:
        if self.kind is ChallengeKind.CATEGORY_ITEMS and not self.category:
            raise ValueError("a category_items challenge needs `category`")
        if self.kind is ChallengeKind.ACTIVITY and self.activity is None:
            raise ValueError("an activity challenge needs `activity`")
        return self


class TierDef(_Strict):
    id: Slug
    name: str = Field(min_length=1)
    threshold: int = Field(ge=0, le=INT32_MAX, description="Qualifying points needed.")
    earn_multiplier: Decimal = Field(gt=0, le=100)
    benefits: tuple[str, ...] = ()


class RewardDef(_Strict):
    id: Slug
    name: str = Field(min_length=1)
    description: str | None = None
    cost: int = Field(gt=0, le=INT32_MAX, description="Points.")
    minimum_tier: Slug | None = None
    channels: tuple[Channel, ...] = Field(min_length=1)
    active: bool = True
    valid_days: int | None = Field(None, gt=0, le=3650, description="Issued code lifetime.")


class ProgramDef(_Strict):
    name: str = Field(min_length=1)
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO-4217 code.")
    currency_decimals: int = Field(2, ge=0, le=4)
    point_value: Decimal = Field(gt=0, description="What one point is worth, e.g. 0.01.")
    earn_rate: Decimal = Field(gt=0, le=1000, description="Points per currency unit.")
    return_window_days: int = Field(0, ge=0, le=365)
    max_purchase_amount: Decimal = Field(gt=0)
    agent_adjustment_limit: int = Field(
        500, gt=0, le=1_000_000, description="Most points an AGENT adds or removes at once."
    )
    default_phone_region: str = Field("NL", pattern=r"^[A-Z]{2}$")
    tiers: tuple[TierDef, ...] = Field(min_length=1)
    rewards: tuple[RewardDef, ...] = ()
    points: PointsPolicy = PointsPolicy()
    tiering: TieringDef = TieringDef()
    referral: ReferralDef = ReferralDef()
    birthday: BirthdayDef = BirthdayDef()
    identity: IdentityDef = IdentityDef()
    activities: dict[ActivityKind, ActivityDef] = Field(default_factory=dict)
    challenges: tuple[ChallengeDef, ...] = ()
    decisions: DecisionsDef = DecisionsDef()

    @field_validator("tiers")
    @classmethod
    def _tiers_ascend(cls, tiers: tuple[TierDef, ...]) -> tuple[TierDef, ...]:
        if tiers[0].threshold != 0:
            raise ValueError("the first tier must have threshold 0")
        for lower, upper in itertools.pairwise(tiers):
            if upper.threshold <= lower.threshold:
                raise ValueError(
                    f"tier {upper.id!r} must have a higher threshold than {lower.id!r}"
                )
        if len({t.id for t in tiers}) != len(tiers):
            raise ValueError("tier ids must be unique")
        return tiers

    @model_validator(mode="after")
    def _consistent(self) -> ProgramDef:
        tier_ids = {t.id for t in self.tiers}
        if len({r.id for r in self.rewards}) != len(self.rewards):
            raise ValueError("rewards: ids must be unique")
        for index, reward in enumerate(self.rewards):
            if reward.minimum_tier is not None and reward.minimum_tier not in tier_ids:
                raise ValueError(
                    f"rewards.{index}.minimum_tier: unknown tier {reward.minimum_tier!r}"
                )
        if len({c.id for c in self.challenges}) != len(self.challenges):
            raise ValueError("challenges: ids must be unique")
        incentive = self.decisions.win_back.reward
        if incentive is not None and self.reward(incentive) is None:
            raise ValueError(f"decisions.win_back.reward: unknown reward {incentive!r}")
        top = max(t.earn_multiplier for t in self.tiers)
        if self.max_purchase_amount * self.earn_rate * top > INT32_MAX:
            raise ValueError("max_purchase_amount x earn_rate x multiplier overflows 32-bit points")
        if self.max_purchase_amount.as_tuple().exponent < -self.currency_decimals:  # type: ignore[operator]
            raise ValueError("max_purchase_amount has more decimals than the currency")
        return self

    def tier(self, tier_id: str) -> TierDef:
        for tier in self.tiers:
            if tier.id == tier_id:
                return tier
        raise KeyError(tier_id)

    def activity(self, kind: ActivityKind) -> ActivityDef:
        """An activity the file leaves out is recorded and earns nothing."""
        return self.activities.get(kind, ActivityDef())

    def reward(self, reward_id: str) -> RewardDef | None:
        for reward in self.rewards:
            if reward.id == reward_id:
                return reward
        return None


class ProgramFileError(ValueError):
    """The program file is unreadable or invalid; the message names every bad key."""


def parse_program(text: str, source: str = "program file") -> ProgramDef:
    """Parse and validate a TOML program definition."""
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProgramFileError(f"{source}: not valid TOML: {exc}") from exc
    program = raw.get("program", {})
    if not isinstance(program, dict):
        raise ProgramFileError(f"{source} is invalid:\n  program: must be a table")
    body = dict(program)
    sections = ("points", "tiering", "referral", "birthday", "identity", "activities", "decisions")
    extra = set(raw) - {"program", "tiers", "rewards", "challenges", *sections}
    if extra:
        raise ProgramFileError(f"{source}: unknown top-level key(s): {', '.join(sorted(extra))}")
    body["tiers"] = raw.get("tiers", [])
    body["rewards"] = raw.get("rewards", [])
    body["challenges"] = raw.get("challenges", [])
    for section in sections:
        if section in raw:
            body[section] = raw[section]
    try:
        return ProgramDef.model_validate(body)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(part) for part in err["loc"]) or "(program)"
            problems.append(f"  {key}: {err['msg']}")
        raise ProgramFileError(f"{source} is invalid:\n" + "\n".join(problems)) from exc
