"""Program KPIs from the figures the database sums up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from loyalty.model import LedgerEntryKind
from loyalty.money import points_value
from loyalty.program import ProgramDef


@dataclass(frozen=True)
class Figures:
    """Raw sums: per entry kind, the positive and negative points recorded in the period."""

    members: int
    active_30d: int
    active_90d: int
    by_kind: dict[LedgerEntryKind, tuple[int, int]]  # kind -> (sum of gains, sum of losses)
    outstanding: int


@dataclass(frozen=True)
class Stats:
    start: datetime
    end: datetime
    members: int
    active_30d: int
    active_90d: int
    issued: int
    redeemed: int
    expired: int
    reversed: int
    outstanding: int
    redemption_rate: float
    liability: Decimal


def stats(figures: Figures, start: datetime, end: datetime, program: ProgramDef) -> Stats:
    def gains(kind: LedgerEntryKind) -> int:
        return figures.by_kind.get(kind, (0, 0))[0]

    def losses(kind: LedgerEntryKind) -> int:
        return -figures.by_kind.get(kind, (0, 0))[1]

    issued = (
        gains(LedgerEntryKind.EARN)
        + gains(LedgerEntryKind.BONUS)
        + gains(LedgerEntryKind.ADJUSTMENT)
    )
    redeemed = losses(LedgerEntryKind.REDEEM)
    return Stats(
        start=start,
        end=end,
        members=figures.members,
        active_30d=figures.active_30d,
        active_90d=figures.active_90d,
        issued=issued,
        redeemed=redeemed,
        expired=losses(LedgerEntryKind.EXPIRY),
        reversed=losses(LedgerEntryKind.REVERSAL),
        outstanding=figures.outstanding,
        redemption_rate=redeemed / issued if issued else 0.0,
        liability=points_value(figures.outstanding, program),
    )
