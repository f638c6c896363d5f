"""Anonymous to known: what a web cookie or app device did before anyone enrolled with it.

Activity recorded against a WEB_COOKIE or DEVICE_TOKEN that no member owns is kept on a guest
profile. When a member enrols with that identifier or links it, the guest's history joins the
member in one change: its activity counts (what decisions read), the caps it used, the latest
activity time, and, if the program says guest activity earns (`[identity]
guest_activities_earn`), one BONUS entry with what the activities would have earned within
their caps, at the base rate (a guest holds no tier).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from loyalty.activities import counter_key, limit_of
from loyalty.changes import Context, Outcome, advance
from loyalty.model import ChangeKind, IdentifierKind, LedgerEntryKind, Member
from loyalty.points import Book
from loyalty.program import ActivityKind, Channel, ProgramDef

GUEST_KINDS = (IdentifierKind.WEB_COOKIE, IdentifierKind.DEVICE_TOKEN)
MAX_GUEST_ACTIVITIES = 100  # the newest are kept: enough for decisions, bounded


@dataclass(frozen=True)
class GuestActivity:
    kind: ActivityKind
    at: datetime
    channel: Channel
    store_id: str | None = None
    survey: str | None = None  # a SURVEY's id, for its once-per-survey cap


def join(
    member: Member, activities: list[GuestActivity], program: ProgramDef, ctx: Context
) -> Outcome:
    """The member with the guest's history folded in, as one change."""
    ordered = sorted(activities, key=lambda a: a.at)
    counters = dict(member.counters)
    seen = dict(member.guest_activity)
    points = 0
    for activity in ordered:
        key = counter_key(activity.kind, activity.at, activity.store_id, activity.survey)
        count = counters.get(key, 0)
        limit = limit_of(activity.kind, program)
        if program.identity.guest_activities_earn and (limit is None or count < limit):
            points += program.activity(activity.kind).points
        counters[key] = count + 1
        seen[activity.kind.value] = seen.get(activity.kind.value, 0) + 1
    book = Book(member, program, ctx.now)
    changes = [ChangeKind.ACTIVITY_RECORDED]
    if points > 0:
        book.earn(
            LedgerEntryKind.BONUS,
            points,
            f"Activity before enrolment: {len(ordered)} recorded",
            channel=ctx.channel,
        )
        changes.append(ChangeKind.POINTS_EARNED)
    latest = max((a.at for a in ordered), default=None)
    last = max((t for t in (member.last_activity_at, latest) if t is not None), default=None)
    after = replace(
        book.apply(member),
        counters=counters,
        guest_activity=tuple(sorted(seen.items())),
    )
    moved = advance(member, after, changes, ctx.now, active=False)
    return Outcome(
        member=replace(moved, last_activity_at=last),
        changes=tuple(changes),
        entries=tuple(book.entries),
        details=(("guestActivities", len(ordered)), ("points", points)),
    )
