"""guests.join: a cookie's or device's history joins the member, within the caps."""

from __future__ import annotations

from datetime import timedelta

from loyalty.changes import Context
from loyalty.decisions.actions import Ask, next_best_actions
from loyalty.guests import GuestActivity, join
from loyalty.model import ChangeKind, LedgerEntryKind, Member
from loyalty.program import ActivityKind, Channel, ProgramDef
from tests.loyalty.conftest import T0

WEB = Channel.WEB


def history() -> list[GuestActivity]:
    return [
        GuestActivity(ActivityKind.PRODUCT_VIEW, T0 - timedelta(days=3), WEB),
        GuestActivity(ActivityKind.PRODUCT_VIEW, T0 - timedelta(days=2), WEB),
        GuestActivity(ActivityKind.REVIEW, T0 - timedelta(days=2), WEB),
        GuestActivity(ActivityKind.REVIEW, T0 - timedelta(days=2), WEB),
        GuestActivity(ActivityKind.REVIEW, T0 - timedelta(days=1), WEB),
        GuestActivity(ActivityKind.REVIEW, T0 - timedelta(days=1), WEB),  # over the cap of 3
        GuestActivity(ActivityKind.APP_DOWNLOAD, T0 - timedelta(days=1), Channel.APP),
    ]


def test_history_joins_as_one_change_without_points_by_default(
    member: Member, demo: ProgramDef, ctx: Context
) -> None:
    assert demo.identity.guest_activities_earn is False
    outcome = join(member, history(), demo, ctx)
    after = outcome.member
    assert after.version == member.version + 1
    assert outcome.changes == (ChangeKind.ACTIVITY_RECORDED,)
    assert outcome.entries == () and after.balance == member.balance
    assert dict(after.guest_activity) == {"APP_DOWNLOAD": 1, "PRODUCT_VIEW": 2, "REVIEW": 4}
    # The caps it used count: the member cannot earn the app download again.
    assert after.counters["APP_DOWNLOAD"] == 1
    # The enrolment (at T0) is later than anything the guest did: it stays the latest.
    assert after.last_activity_at == member.last_activity_at == T0


def test_when_the_program_says_so_it_earns_within_the_caps(
    member: Member, demo: ProgramDef, ctx: Context
) -> None:
    earning = demo.model_copy(
        update={"identity": demo.identity.model_copy(update={"guest_activities_earn": True})}
    )
    outcome = join(member, history(), earning, ctx)
    review = earning.activity(ActivityKind.REVIEW).points
    download = earning.activity(ActivityKind.APP_DOWNLOAD).points
    [entry] = outcome.entries
    assert entry.kind is LedgerEntryKind.BONUS
    assert entry.points == 3 * review + download  # the fourth review is over the cap
    assert outcome.member.balance.available == member.balance.available + entry.points
    assert ChangeKind.POINTS_EARNED in outcome.changes


def test_joining_twice_adds_up(member: Member, demo: ProgramDef, ctx: Context) -> None:
    once = join(member, history()[:2], demo, ctx).member
    twice = join(once, history()[:1], demo, ctx).member
    assert dict(twice.guest_activity) == {"PRODUCT_VIEW": 3}


def test_decisions_use_what_the_guest_did(member: Member, demo: ProgramDef, ctx: Context) -> None:
    joined = join(member, history(), demo, ctx).member
    ask = Ask(Channel.WEB, T0)
    before = {a.key: a for a in next_best_actions(member, demo, ask, 20)}
    after = {a.key: a for a in next_best_actions(joined, demo, ask, 20)}
    first = after["ONBOARDING:first-purchase"]
    assert "viewed 2 products before enrolling" in first.reasons
    assert first.score > before["ONBOARDING:first-purchase"].score
    # The app was downloaded as a guest: no need to ask again.
    assert "ONBOARDING:app-download" in before and "ONBOARDING:app-download" not in after
