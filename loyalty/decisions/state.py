"""What the decision rules keep on the member between calls, bounded in size.

Every map here is pruned as it is written: cap counters keep the current day and week only,
cooldowns and closed storylines drop once past, journey marks drop with what they mark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class Engagement:
    purchases: int = 0
    spend: Decimal = Decimal(0)  # the amounts of every purchase counted in `purchases`
    last_purchase_at: datetime | None = None
    mean_gap_days: float | None = None  # moving average of the gaps between purchases
    churn_risk: float = 0.0  # as of the member's last change (read-time risk is recomputed)
    upgraded_to: str | None = None  # the last tier upgrade, celebrated for a while
    upgraded_at: datetime | None = None
    # "CHANNEL|D|2026-11-24" and "CHANNEL|W|2026-W48" -> actions shown + messages sent.
    counts: dict[str, int] = field(default_factory=dict)
    cooldowns: dict[str, datetime] = field(default_factory=dict)  # "CHANNEL|action" -> until
    closed: dict[str, datetime] = field(default_factory=dict)  # storyline -> until
    celebrated: dict[str, str] = field(default_factory=dict)  # channel -> tier celebrated
    journeys: dict[str, datetime] = field(default_factory=dict)  # journey mark -> when
