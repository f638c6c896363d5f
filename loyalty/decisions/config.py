"""The program file's `[decisions]` section: caps, quiet hours, churn model, win-back incentive.

Validated at start with the rest of the program; a bad key is reported with its path
(e.g. `decisions.caps.EMAIL.week: Input should be greater than or equal to 0`).
"""

from __future__ import annotations

import re
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from loyalty.channel import Channel

_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CapDef(_Strict):
    """Actions shown or messages sent on one channel, per calendar day and per ISO week (UTC)."""

    day: int = Field(ge=0, le=1000)
    week: int = Field(ge=0, le=10_000)


class QuietHoursDef(_Strict):
    """No message goes out between `start` and `end` (local time of `timezone`)."""

    start: str = "21:00"
    end: str = "08:00"
    timezone: str = "UTC"

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError("give a time as HH:MM (24 h)")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class ChurnDef(_Strict):
    """The churn model; the formula is in loyalty/decisions/churn.py and the README."""

    cadence_days: float = Field(30, gt=0, le=3650, description="The program's usual gap.")
    prior_weight: float = Field(2, ge=0, le=100, description="Gaps' worth of the program's.")
    typical_basket: Decimal = Field(Decimal("25"), gt=0, description="The program's usual spend.")
    bias: float = Field(-0.5, ge=-20, le=20)
    recency_weight: float = Field(2.0, gt=0, le=20)
    frequency_weight: float = Field(0.3, ge=0, le=20)
    monetary_weight: float = Field(0.3, ge=0, le=20)
    threshold: float = Field(0.6, gt=0, lt=1, description="WIN_BACK at or above this risk.")


class WinBackDef(_Strict):
    message: str = Field("We miss you! Come back and enjoy a treat on us.", min_length=1)
    reward: str | None = Field(None, description="A catalogue reward offered as the incentive.")
    bonus_points: int = Field(0, ge=0, le=1_000_000, description="Promised in the message.")


def _default_caps() -> dict[Channel, CapDef]:
    return {
        Channel.APP: CapDef(day=6, week=30),
        Channel.WEB: CapDef(day=6, week=30),
        Channel.POS: CapDef(day=4, week=20),
        Channel.KIOSK: CapDef(day=4, week=20),
        Channel.CALL_CENTER: CapDef(day=3, week=10),
        Channel.PUSH: CapDef(day=1, week=3),
        Channel.EMAIL: CapDef(day=1, week=2),
        Channel.SMS: CapDef(day=1, week=1),
    }


class DecisionsDef(_Strict):
    caps: dict[Channel, CapDef] = Field(default_factory=_default_caps)
    quiet_hours: QuietHoursDef = QuietHoursDef()
    churn: ChurnDef = ChurnDef()
    win_back: WinBackDef = WinBackDef()
    cooldown_days: int = Field(7, ge=0, le=365, description="A dismissed action stays away.")
    closed_days: int = Field(30, ge=0, le=365, description="A converted storyline stays closed.")
    celebration_days: int = Field(14, ge=0, le=365, description="A tier upgrade is celebrated.")
    onboarding_days: int = Field(30, ge=0, le=365, description="Members this new are onboarded.")
    near_points: int = Field(150, ge=0, le=1_000_000, description="'N points from X' within N.")

    @field_validator("caps", mode="before")
    @classmethod
    def _defaults_for_the_rest(cls, value: object) -> object:
        """A channel the file leaves out keeps its default cap."""
        if not isinstance(value, dict):
            return value
        merged: dict[object, object] = {c.value: d for c, d in _default_caps().items()}
        merged.update(value)
        return merged

    def cap(self, channel: Channel) -> CapDef:
        return self.caps[channel]
