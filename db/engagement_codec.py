"""The member's `engagement` sub-document (loyalty/decisions/state.py) to and from BSON."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from loyalty.decisions.state import Engagement

Doc = dict[str, Any]


def engagement_to_doc(e: Engagement) -> Doc:
    return {
        "purchases": e.purchases,
        "spend": str(e.spend),  # Decimal as text: exact, and readable in the database
        "lastPurchaseAt": e.last_purchase_at,
        "meanGapDays": e.mean_gap_days,
        "churnRisk": e.churn_risk,
        "upgradedTo": e.upgraded_to,
        "upgradedAt": e.upgraded_at,
        "counts": dict(e.counts),
        "cooldowns": dict(e.cooldowns),
        "closed": dict(e.closed),
        "celebrated": dict(e.celebrated),
        "journeys": dict(e.journeys),
    }


def engagement_from_doc(d: Doc | None) -> Engagement:
    if not d:
        return Engagement()  # members stored before decisioning existed
    return Engagement(
        purchases=d.get("purchases", 0),
        spend=Decimal(d.get("spend", "0")),
        last_purchase_at=d.get("lastPurchaseAt"),
        mean_gap_days=d.get("meanGapDays"),
        churn_risk=d.get("churnRisk", 0.0),
        upgraded_to=d.get("upgradedTo"),
        upgraded_at=d.get("upgradedAt"),
        counts=dict(d.get("counts") or {}),
        cooldowns=dict(d.get("cooldowns") or {}),
        closed=dict(d.get("closed") or {}),
        celebrated=dict(d.get("celebrated") or {}),
        journeys=dict(d.get("journeys") or {}),
    )
