"""Orchestration: caps per channel per period, quiet hours, consents, cooldowns, storylines.

Shared by the next-best-action ranking, the outcomes surfaces report and the journeys, so a
message a journey sends and an action a surface shows count against the same caps.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from loyalty.channel import MESSAGE_CHANNELS, Channel
from loyalty.decisions.config import DecisionsDef
from loyalty.decisions.state import Engagement
from loyalty.model import Member


def day_key(channel: Channel, at: datetime) -> str:
    return f"{channel.value}|D|{at.date().isoformat()}"


def week_key(channel: Channel, at: datetime) -> str:
    year, week, _ = at.isocalendar()
    return f"{channel.value}|W|{year:04d}-W{week:02d}"


def used(e: Engagement, channel: Channel, at: datetime) -> tuple[int, int]:
    """Actions shown and messages sent on `channel`: (today, this week)."""
    return e.counts.get(day_key(channel, at), 0), e.counts.get(week_key(channel, at), 0)


def cap_reached(e: Engagement, channel: Channel, at: datetime, d: DecisionsDef) -> str | None:
    """Why nothing more may go out on `channel` now, or None."""
    cap = d.cap(channel)
    today, week = used(e, channel, at)
    if today >= cap.day:
        return f"the cap of {cap.day} a day on {channel.value} is reached"
    if week >= cap.week:
        return f"the cap of {cap.week} a week on {channel.value} is reached"
    return None


def counted(e: Engagement, channel: Channel, at: datetime) -> Engagement:
    """One more shown or sent on `channel`; counters of other days and weeks are dropped."""
    keep = {day_key(c, at) for c in Channel} | {week_key(c, at) for c in Channel}
    counts = {k: v for k, v in e.counts.items() if k in keep}
    for key in (day_key(channel, at), week_key(channel, at)):
        counts[key] = counts.get(key, 0) + 1
    return replace(e, counts=counts)


def _local(at: datetime, d: DecisionsDef) -> datetime:
    return at.astimezone(ZoneInfo(d.quiet_hours.timezone))


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def quiet_until(at: datetime, d: DecisionsDef) -> datetime | None:
    """The end of the quiet hours `at` falls in (UTC), or None outside them."""
    local = _local(at, d)
    start, end = _clock(d.quiet_hours.start), _clock(d.quiet_hours.end)
    now = local.time()
    if start == end:
        return None
    inside = (start <= now or now < end) if start > end else (start <= now < end)
    if not inside:
        return None
    day = local.date() if now < end else local.date() + timedelta(days=1)
    until = datetime.combine(day, end, tzinfo=local.tzinfo)
    return until.astimezone(at.tzinfo)


def consented(member: Member, channel: Channel) -> bool:
    c = member.profile.consents
    return {Channel.EMAIL: c.email, Channel.SMS: c.sms, Channel.PUSH: c.push}.get(channel, False)


def message_channel(member: Member) -> Channel | None:
    """Where to send: the preferred channel when it is a consented message channel, else the
    first consented of push, email, SMS; None without any consent."""
    preferred = member.profile.preferred_channel
    if preferred in MESSAGE_CHANNELS and consented(member, preferred):
        return preferred
    for channel in MESSAGE_CHANNELS:
        if consented(member, channel):
            return channel
    return None


def cooling(e: Engagement, channel: Channel, action: str, at: datetime) -> bool:
    until = e.cooldowns.get(f"{channel.value}|{action}")
    return until is not None and until > at


def closed(e: Engagement, storyline: str, at: datetime) -> bool:
    until = e.closed.get(storyline)
    return until is not None and until > at


def cooled(e: Engagement, channel: Channel, action: str, at: datetime, days: int) -> Engagement:
    live = {k: v for k, v in e.cooldowns.items() if v > at}
    live[f"{channel.value}|{action}"] = at + timedelta(days=days)
    return replace(e, cooldowns=live)


def closing(e: Engagement, storyline: str, at: datetime, days: int) -> Engagement:
    live = {k: v for k, v in e.closed.items() if v > at}
    live[storyline] = at + timedelta(days=days)
    return replace(e, closed=live)
