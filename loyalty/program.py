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

INT32_MAX = 2**31 - 1


class Channel(str, Enum):
    APP = "APP"
    WEB = "WEB"
    POS = "POS"
    KIOSK = "KIOSK"
    EMAIL = "EMAIL"
    SMS = "SMS"
    PUSH = "PUSH"
    CALL_CENTER = "CALL_CENTER"


Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    default_phone_region: str = Field("NL", pattern=r"^[A-Z]{2}$")
    tiers: tuple[TierDef, ...] = Field(min_length=1)
    rewards: tuple[RewardDef, ...] = ()

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
    extra = set(raw) - {"program", "tiers", "rewards"}
    if extra:
        raise ProgramFileError(f"{source}: unknown top-level key(s): {', '.join(sorted(extra))}")
    body["tiers"] = raw.get("tiers", [])
    body["rewards"] = raw.get("rewards", [])
    try:
        return ProgramDef.model_validate(body)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(part) for part in err["loc"]) or "(program)"
            problems.append(f"  {key}: {err['msg']}")
        raise ProgramFileError(f"{source} is invalid:\n" + "\n".join(problems)) from exc
