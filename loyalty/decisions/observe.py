"""What every committed change teaches the decision layer, applied to its outcome before commit.

The writer runs `observe` on every outcome inside the change's transaction: purchase cadence
for churn, a redemption closing its reward's storyline on every channel, the tier upgrade to
celebrate, the journeys the change triggers (their intents commit with it), and the churn risk
as of the change. Quiet outcomes (a scheduled run with nothing else due) can still trigger the
time-driven journeys (win-back crossing, points about to expire).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from loyalty.changes import Outcome
from loyalty.decisions import churn, orchestration
from loyalty.decisions.journeys import journeys
from loyalty.model import LedgerEntryKind, Member
from loyalty.program import ProgramDef


def observe(before: Member | None, outcome: Outcome, program: ProgramDef, now: datetime) -> Outcome:
    after = outcome.member
    if after.merged_into is not None:
        return outcome
    for draft in outcome.entries:
        if draft.kind is LedgerEntryKind.EARN and draft.amount is not None and not draft.reverses:
            after = churn.observe_purchase(after, Decimal(draft.amount), draft.occurred_at)
            break
    if outcome.issue is not None:
        closed = orchestration.closing(
            after.engagement,
            f"reward:{outcome.issue.reward_id}",
            now,
            program.decisions.closed_days,
        )
        after = replace(after, engagement=closed)
    after, notices = journeys(before, after, program, now)
    risk = churn.score(after, program.decisions.churn, now).risk
    after = replace(after, engagement=replace(after.engagement, churn_risk=round(risk, 4)))
    return replace(outcome, member=after, notices=outcome.notices + notices)
