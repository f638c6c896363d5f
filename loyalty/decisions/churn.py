"""Churn risk: how far the member is past their own purchase rhythm, tempered by habit and spend.

    g = (k x G + (n - 1) x gm) / (k + n - 1)      expected gap: the member's own mean gap gm
                                                  over n - 1 gaps, shrunk toward the program's
                                                  cadence G with the weight of k gaps
    x = r / g                                     overdue ratio: r = days since the last
                                                  purchase (since enrolment before the first)
    z = b + wr (x - 1) - wf ln(1 + n) - wm ln(s / S)
    churnRisk = 1 / (1 + e^-z)                    s = the member's mean basket, S = the program's
                                                  (the monetary term is 0 before a purchase)

All constants are in the program file's `[decisions.churn]`. Recency rises with time alone, so
the risk is computed at the moment asked (pure, from what the member document holds); the value
as of each change is kept on the member too, and `crossing_at` says when the risk will reach the
win-back threshold if nothing happens, which is when the scheduled job looks again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from loyalty.decisions.config import ChurnDef
from loyalty.model import Member

DAY = 86400.0


@dataclass(frozen=True)
class ChurnScore:
    risk: float
    reasons: tuple[str, ...]


def _expected_gap(member: Member, churn: ChurnDef) -> float:
    e = member.engagement
    gaps = max(e.purchases - 1, 0)
    if gaps == 0 or e.mean_gap_days is None:
        return churn.cadence_days
    weight = churn.prior_weight
    return (weight * churn.cadence_days + gaps * e.mean_gap_days) / (weight + gaps)


def _habit(member: Member, churn: ChurnDef) -> float:
    """The part of z that does not move with time: bias, frequency and monetary terms."""
    e = member.engagement
    z = churn.bias - churn.frequency_weight * math.log1p(e.purchases)
    if e.purchases > 0 and e.spend > 0:
        basket = e.spend / e.purchases
        z -= churn.monetary_weight * math.log(float(basket / churn.typical_basket))
    return z


def _since(member: Member) -> datetime:
    return member.engagement.last_purchase_at or member.enrolled_at


def score(member: Member, churn: ChurnDef, now: datetime) -> ChurnScore:
    """The risk at `now`, with each factor in words."""
    e = member.engagement
    gap = _expected_gap(member, churn)
    days = max((now - _since(member)).total_seconds() / DAY, 0.0)
    overdue = days / gap
    z = _habit(member, churn) + churn.recency_weight * (overdue - 1)
    risk = 1 / (1 + math.exp(-max(min(z, 50.0), -50.0)))
    own = "their own rhythm" if e.purchases >= 2 else "the program's usual rhythm"
    since = "last purchase" if e.last_purchase_at else "enrolment without a purchase"
    reasons = [
        f"{days:.0f} days since {since}: {overdue:.1f}x the expected gap of {gap:.0f} days ({own})",
        f"{e.purchases} purchase{'s' if e.purchases != 1 else ''} so far",
    ]
    if e.purchases > 0:
        basket = (e.spend / e.purchases).quantize(Decimal("0.01"))
        reasons.append(f"average basket {basket} vs the program's {churn.typical_basket}")
    reasons.append(f"churn risk {risk:.2f} (win-back from {churn.threshold:.2f})")
    return ChurnScore(risk=risk, reasons=tuple(reasons))


def crossing_at(member: Member, churn: ChurnDef) -> datetime:
    """When the risk reaches the win-back threshold if the member does nothing until then."""
    target = math.log(churn.threshold / (1 - churn.threshold))
    overdue = 1 + (target - _habit(member, churn)) / churn.recency_weight
    days = max(overdue, 0.0) * _expected_gap(member, churn)
    return _since(member) + timedelta(days=min(days, 36500.0))


def observe_purchase(member: Member, amount: Decimal, at: datetime) -> Member:
    """The cadence statistics after one more purchase (EWMA of the gaps, alpha 0.3)."""
    e = member.engagement
    mean = e.mean_gap_days
    if e.last_purchase_at is not None:
        gap = max((at - e.last_purchase_at).total_seconds() / DAY, 0.0)
        mean = gap if mean is None else 0.7 * mean + 0.3 * gap
    moved = replace(
        e,
        purchases=e.purchases + 1,
        spend=e.spend + amount,
        last_purchase_at=max(at, e.last_purchase_at) if e.last_purchase_at else at,
        mean_gap_days=mean,
    )
    return replace(member, engagement=moved)
