"""Journeys: a member's change (or the passing of time, through the scheduled job) that is worth
a message becomes a notification intent, with consent, caps and quiet hours applied.

welcome (enrolment), earn-to-redeem (a change that makes a reward affordable), win-back (the
churn risk reaches the threshold), tier upgrade, birthday (the bonus was given), points about
to expire (within the program's notice days). Each fires once per occasion: a mark on the
member says it did, so a retried or replayed change sends nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from loyalty.decisions import churn, orchestration
from loyalty.decisions.actions import visible
from loyalty.decisions.notice import Journey, Notice, NoticeStatus
from loyalty.decisions.state import Engagement
from loyalty.model import Member
from loyalty.program import ProgramDef
from loyalty.tiers import rank

MARKS_KEPT = timedelta(days=400)
WIN_BACK = "win-back"


@dataclass(frozen=True)
class _Trigger:
    journey: Journey
    mark: str
    title: str
    message: str
    reward_id: str | None = None


def _expiring(member: Member, program: ProgramDef, now: datetime) -> list[tuple[int, datetime]]:
    """Open lots expiring within the notice days that were not announced yet: (seq, when)."""
    horizon = now + timedelta(days=program.points.notice_days)
    marks = member.engagement.journeys
    return [
        (lot.seq, lot.expires_at)
        for lot in member.lots
        if lot.expires_at is not None
        and now < lot.expires_at <= horizon
        and f"expiry:{lot.seq}" not in marks
    ]


def _win_back_marked(member: Member) -> bool:
    """The win-back journey already ran since the member's last purchase (or enrolment)."""
    fired = member.engagement.journeys.get(WIN_BACK)
    since = member.engagement.last_purchase_at or member.enrolled_at
    return fired is not None and fired >= since


def _triggers(
    before: Member | None, after: Member, program: ProgramDef, now: datetime
) -> list[_Trigger]:
    found: list[_Trigger] = []
    if before is None:
        found.append(
            _Trigger(
                Journey.WELCOME, "welcome", f"Welcome to {program.name}", "Your card is ready."
            )
        )
        return found
    if rank(after.tier.tier_id, program) > rank(before.tier.tier_id, program):
        name = program.tier(after.tier.tier_id).name
        found.append(
            _Trigger(
                Journey.TIER_UPGRADE,
                f"tier:{after.tier.tier_id}:{now.date().isoformat()}",
                f"You are {name} now",
                f"Welcome to {name}: your new benefits are ready.",
            )
        )
    was, now_has = before.balance.available, after.balance.available
    affordable = [
        r
        for r in program.rewards
        if was < r.cost <= now_has and any(visible(after, r, c, program) for c in r.channels)
    ]
    if affordable:
        reward = max(affordable, key=lambda r: r.cost)
        if not orchestration.closed(after.engagement, f"reward:{reward.id}", now):
            found.append(
                _Trigger(
                    Journey.EARN_TO_REDEEM,
                    f"earn:{reward.id}:{after.version}",
                    f"{reward.name} is yours to take",
                    f"You have {now_has} points: enough for {reward.name}.",
                    reward.id,
                )
            )
    if after.birthday_year is not None and after.birthday_year != before.birthday_year:
        found.append(
            _Trigger(
                Journey.BIRTHDAY,
                f"birthday:{after.birthday_year}",
                "Happy birthday!",
                f"{program.birthday.bonus} birthday points are waiting for you.",
            )
        )
    if not _win_back_marked(after):
        scored = churn.score(after, program.decisions.churn, now)
        if scored.risk >= program.decisions.churn.threshold:
            offer = program.decisions.win_back
            found.append(
                _Trigger(Journey.WIN_BACK, WIN_BACK, "We miss you", offer.message, offer.reward)
            )
    expiring = _expiring(after, program, now)
    if expiring:
        points = sum(lot.points for lot in after.lots if lot.seq in {s for s, _ in expiring})
        soonest = min(when for _, when in expiring)
        found.append(
            _Trigger(
                Journey.POINTS_EXPIRING,
                ",".join(f"expiry:{seq}" for seq, _ in expiring),
                "Points about to expire",
                f"{points} points expire on {soonest.date().isoformat()}: spend them first.",
            )
        )
    return found


def _pruned(e: Engagement, member: Member, now: datetime) -> dict[str, datetime]:
    open_lots = {f"expiry:{lot.seq}" for lot in member.lots}
    return {
        k: v
        for k, v in e.journeys.items()
        if (k in open_lots if k.startswith("expiry:") else k == "welcome" or now - v < MARKS_KEPT)
    }


def journeys(
    before: Member | None, after: Member, program: ProgramDef, now: datetime
) -> tuple[Member, tuple[Notice, ...]]:
    """The intents this change triggers, and the member with the marks and caps they used."""
    d = program.decisions
    e = after.engagement
    if before is not None and rank(after.tier.tier_id, program) > rank(
        before.tier.tier_id, program
    ):
        e = replace(e, upgraded_to=after.tier.tier_id, upgraded_at=now)
    notices: list[Notice] = []
    marks = _pruned(e, after, now)
    for trigger in _triggers(before, after, program, now):
        channel = orchestration.message_channel(after)
        status, reason = NoticeStatus.PENDING, None
        if channel is None:
            status, reason = NoticeStatus.SUPPRESSED, "no consent for any message channel"
        else:
            reason = orchestration.cap_reached(e, channel, now, d)
            if reason is not None:
                status = NoticeStatus.SUPPRESSED
            else:
                e = orchestration.counted(e, channel, now)
        for mark in trigger.mark.split(","):
            marks[mark] = now
        notices.append(
            Notice(
                key=f"{trigger.journey.value}:{trigger.mark.split(',')[0]}:v{after.version}",
                journey=trigger.journey,
                channel=channel,
                title=trigger.title,
                message=trigger.message,
                status=status,
                created_at=now,
                not_before=orchestration.quiet_until(now, d) or now,
                reward_id=trigger.reward_id,
                reason=reason,
            )
        )
    return replace(after, engagement=replace(e, journeys=marks)), tuple(notices)


def due_at(member: Member, program: ProgramDef) -> datetime | None:
    """When the scheduled job should look at the member for a journey time alone triggers:
    the win-back crossing and the first unannounced lot entering its notice period."""
    if member.merged_into is not None:
        return None
    times: list[datetime] = []
    if not _win_back_marked(member):
        times.append(churn.crossing_at(member, program.decisions.churn))
    notice = timedelta(days=program.points.notice_days)
    marks = member.engagement.journeys
    times.extend(
        lot.expires_at - notice
        for lot in member.lots
        if lot.expires_at is not None and f"expiry:{lot.seq}" not in marks
    )
    return min(times) if times else None
