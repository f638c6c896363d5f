"""Decisioning as pure rules: churn risk, next best actions, outcomes, journeys."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from loyalty.changes import Context, Outcome
from loyalty.decisions import churn, journeys, orchestration
from loyalty.decisions.actions import Action, ActionKind, Ask, next_best_actions
from loyalty.decisions.notice import Journey, NoticeStatus
from loyalty.decisions.observe import observe
from loyalty.decisions.outcomes import ActionOutcome, parse_action_id, record_outcome
from loyalty.errors import DomainError
from loyalty.model import Balance, ChangeKind, Consents, Member, PointsLot
from loyalty.program import Channel, ProgramDef, ProgramFileError, parse_program
from loyalty.purchases import record_purchase
from tests.loyalty.conftest import DEMO_PATH, T0


def with_points(member: Member, points: int) -> Member:
    return replace(member, balance=Balance(points, 0, points))


def consenting(member: Member, **consents: bool) -> Member:
    return replace(member, profile=replace(member.profile, consents=Consents(**consents)))


def buying(member: Member, demo: ProgramDef, days: list[int], amount: str = "25") -> Member:
    """The member after purchases on these days after T0, through the real rules + observe."""
    for day in days:
        at = T0 + timedelta(days=day)
        ctx = Context(now=at, actor="test", channel=Channel.POS, store_id="s-1")
        outcome = record_purchase(member, Decimal(amount), f"o-{day}", at, demo, ctx)
        member = observe(member, outcome, demo, at).member
    return member


def kinds(actions: list[Action]) -> list[ActionKind]:
    return [a.kind for a in actions]


# --- churn -------------------------------------------------------------------------------


def test_risk_rises_with_time_since_the_last_purchase(member: Member, demo: ProgramDef) -> None:
    buyer = buying(member, demo, [0, 10, 20, 30])
    last = T0 + timedelta(days=30)
    risks = [
        churn.score(buyer, demo.decisions.churn, last + timedelta(days=d)).risk
        for d in (1, 15, 30, 60)
    ]
    assert risks == sorted(risks) and risks[0] < 0.2 < 0.8 < risks[-1]


def test_the_members_own_rhythm_counts(member: Member, demo: ProgramDef) -> None:
    weekly = buying(member, demo, [0, 7, 14, 21, 28, 35])
    monthly = buying(member, demo, [-150, -120, -90, -60, -30, 0])
    at = T0 + timedelta(days=35 + 25)  # both last bought 25 days before... weekly: 60-35
    weekly_risk = churn.score(weekly, demo.decisions.churn, at).risk
    monthly_risk = churn.score(monthly, demo.decisions.churn, T0 + timedelta(days=25)).risk
    assert weekly_risk > monthly_risk + 0.2


def test_the_reasons_name_every_factor(member: Member, demo: ProgramDef) -> None:
    buyer = buying(member, demo, [0, 20], amount="40")
    reasons = churn.score(buyer, demo.decisions.churn, T0 + timedelta(days=50)).reasons
    text = " ".join(reasons)
    assert "30 days since last purchase" in text
    assert "2 purchases" in text
    assert "average basket 40.00" in text
    assert "churn risk" in text


def test_the_crossing_time_is_when_the_risk_reaches_the_threshold(
    member: Member, demo: ProgramDef
) -> None:
    buyer = buying(member, demo, [0, 12, 30])
    at = churn.crossing_at(buyer, demo.decisions.churn)
    c = demo.decisions.churn
    assert churn.score(buyer, c, at - timedelta(hours=1)).risk < c.threshold
    assert churn.score(buyer, c, at + timedelta(hours=1)).risk >= c.threshold


# --- next best actions -----------------------------------------------------------------------


def test_earn_to_redeem_says_how_close_the_reward_is(member: Member, demo: ProgramDef) -> None:
    close = with_points(member, 30)  # free coffee costs 150
    actions = next_best_actions(close, demo, Ask(Channel.POS, T0), 10)
    coffee = [a for a in actions if a.reward_id == "free-coffee"]
    assert coffee and coffee[0].kind is ActionKind.SHOW_REWARD
    assert coffee[0].message == "120 points from a Free coffee."
    assert any("120 points short" in r for r in coffee[0].reasons)


def test_never_an_action_the_member_may_not_see_there(member: Member, demo: ProgramDef) -> None:
    rich = with_points(member, 5000)
    app = next_best_actions(rich, demo, Ask(Channel.APP, T0), 20)
    rewards = {a.reward_id for a in app if a.reward_id}
    assert "free-coffee" not in rewards  # POS and kiosk only
    assert "gold-lounge" not in rewards  # Gold only
    assert {"five-off", "tote-bag"} <= rewards


def test_actions_are_ranked_and_bounded(member: Member, demo: ProgramDef) -> None:
    actions = next_best_actions(with_points(member, 950), demo, Ask(Channel.WEB, T0), 3)
    assert len(actions) == 3
    assert [a.score for a in actions] == sorted((a.score for a in actions), reverse=True)
    assert all(a.reasons for a in actions)


def test_never_two_actions_for_the_same_reward(member: Member, demo: ProgramDef) -> None:
    lapsed = with_points(member, 600)  # five-off affordable and the win-back incentive
    at = T0 + timedelta(days=200)
    actions = next_best_actions(lapsed, demo, Ask(Channel.APP, at), 20)
    assert ActionKind.WIN_BACK in kinds(actions)
    rewards = [a.reward_id for a in actions if a.reward_id]
    assert len(rewards) == len(set(rewards))


def test_no_message_without_consent(member: Member, demo: ProgramDef) -> None:
    actions = next_best_actions(with_points(member, 600), demo, Ask(Channel.EMAIL, T0), 5)
    assert kinds(actions) == [ActionKind.SUPPRESS_MESSAGE]
    assert "no consent" in actions[0].reasons[0]


def test_messages_on_a_consented_channel(member: Member, demo: ProgramDef) -> None:
    opted = consenting(with_points(member, 600), email=True)
    actions = next_best_actions(opted, demo, Ask(Channel.EMAIL, T0), 5)
    assert actions and set(kinds(actions)) == {ActionKind.SEND_MESSAGE}
    assert all(a.channel is Channel.EMAIL for a in actions)


def test_quiet_hours_suppress_messages(member: Member, demo: ProgramDef) -> None:
    opted = consenting(with_points(member, 600), push=True)
    night = datetime(2025, 3, 1, 22, 30, tzinfo=T0.tzinfo)  # 23:30 in Amsterdam
    actions = next_best_actions(opted, demo, Ask(Channel.PUSH, night), 5)
    assert kinds(actions) == [ActionKind.SUPPRESS_MESSAGE]
    assert "quiet hours" in actions[0].reasons[0]
    until = orchestration.quiet_until(night, demo.decisions)
    assert until == datetime(2025, 3, 2, 7, 0, tzinfo=T0.tzinfo)  # 08:00 local


def test_the_cap_suppresses_once_reached(member: Member, demo: ProgramDef) -> None:
    m = with_points(member, 600)
    cap = demo.decisions.cap(Channel.POS).day
    for _ in range(cap):
        assert ActionKind.SUPPRESS_MESSAGE not in kinds(
            next_best_actions(m, demo, Ask(Channel.POS, T0), 3)
        )
        m = record_outcome(
            m, "SHOW_REWARD:five-off", ActionOutcome.SHOWN, Channel.POS, demo, T0
        ).member
    actions = next_best_actions(m, demo, Ask(Channel.POS, T0), 3)
    assert kinds(actions) == [ActionKind.SUPPRESS_MESSAGE]
    assert "cap of 4 a day on POS" in actions[0].reasons[0]
    assert ActionKind.SUPPRESS_MESSAGE not in kinds(
        next_best_actions(m, demo, Ask(Channel.POS, T0 + timedelta(days=1)), 3)
    )


def test_onboarding_and_profile_for_new_members(member: Member, demo: ProgramDef) -> None:
    actions = next_best_actions(member, demo, Ask(Channel.WEB, T0), 20)
    keys = {a.key for a in actions}
    assert {"ONBOARDING:first-purchase", "ONBOARDING:app-download", "COMPLETE_PROFILE"} <= keys
    later = next_best_actions(member, demo, Ask(Channel.WEB, T0 + timedelta(days=45)), 20)
    assert not any(a.kind is ActionKind.ONBOARDING for a in later)


# --- outcomes --------------------------------------------------------------------------------


def test_a_dismissal_cools_down_on_that_channel_only(member: Member, demo: ProgramDef) -> None:
    m = with_points(member, 600)
    done = record_outcome(m, "SHOW_REWARD:five-off", ActionOutcome.DISMISSED, Channel.APP, demo, T0)
    assert done.changes == (ChangeKind.ACTION_RECORDED,) and done.member.version == m.version + 1
    app = next_best_actions(done.member, demo, Ask(Channel.APP, T0), 20)
    web = next_best_actions(done.member, demo, Ask(Channel.WEB, T0), 20)
    assert "five-off" not in {a.reward_id for a in app}
    assert "five-off" in {a.reward_id for a in web}
    week = T0 + timedelta(days=demo.decisions.cooldown_days, seconds=1)
    assert "five-off" in {
        a.reward_id for a in next_best_actions(done.member, demo, Ask(Channel.APP, week), 20)
    }


def test_a_conversion_closes_the_storyline_everywhere(member: Member, demo: ProgramDef) -> None:
    m = with_points(member, 600)
    done = record_outcome(m, "SHOW_REWARD:five-off", ActionOutcome.CONVERTED, Channel.POS, demo, T0)
    for channel in (Channel.APP, Channel.WEB, Channel.POS, Channel.KIOSK):
        shown = next_best_actions(done.member, demo, Ask(channel, T0), 20)
        assert "five-off" not in {a.reward_id for a in shown if a.kind is ActionKind.SHOW_REWARD}


def test_shown_counts_without_a_new_version(member: Member, demo: ProgramDef) -> None:
    done = record_outcome(member, "COMPLETE_PROFILE", ActionOutcome.SHOWN, Channel.APP, demo, T0)
    assert done.changes == () and done.member.version == member.version
    assert orchestration.used(done.member.engagement, Channel.APP, T0) == (1, 1)


def test_an_action_id_names_its_member_and_kind() -> None:
    assert parse_action_id("mbr_1/SHOW_REWARD:five-off") == ("mbr_1", "SHOW_REWARD:five-off")
    for bad in ("mbr_1/NOPE:x", "/SHOW_REWARD:x", "nothing"):
        with pytest.raises(DomainError):
            parse_action_id(bad)


# --- journeys ----------------------------------------------------------------------------


def test_welcome_on_the_preferred_consented_channel(member: Member, demo: ProgramDef) -> None:
    opted = consenting(member, email=True, push=True)
    opted = replace(opted, profile=replace(opted.profile, preferred_channel=Channel.EMAIL))
    after, notices = journeys.journeys(None, opted, demo, T0)
    assert [(n.journey, n.channel, n.status) for n in notices] == [
        (Journey.WELCOME, Channel.EMAIL, NoticeStatus.PENDING)
    ]
    assert orchestration.used(after.engagement, Channel.EMAIL, T0) == (1, 1)


def test_no_consent_no_message(member: Member, demo: ProgramDef) -> None:
    _, notices = journeys.journeys(None, member, demo, T0)
    assert [(n.status, n.reason) for n in notices] == [
        (NoticeStatus.SUPPRESSED, "no consent for any message channel")
    ]


def test_a_purchase_that_makes_a_reward_affordable(member: Member, demo: ProgramDef) -> None:
    opted = consenting(with_points(member, 480), push=True)
    ctx = Context(now=T0, actor="t", channel=Channel.POS, store_id="s-1")
    outcome = record_purchase(opted, Decimal("30"), "o-1", T0, demo, ctx)
    notices = observe(opted, outcome, demo, T0).notices
    assert [(n.journey, n.reward_id) for n in notices] == [(Journey.EARN_TO_REDEEM, "five-off")]


def test_a_tier_upgrade_is_announced_and_celebrated_once_per_channel(
    member: Member, demo: ProgramDef
) -> None:
    opted = consenting(member, push=True)
    ctx = Context(now=T0, actor="t", channel=Channel.POS, store_id="s-1")
    outcome = record_purchase(opted, Decimal("600"), "o-1", T0, demo, ctx)
    seen = observe(opted, outcome, demo, T0)
    assert Journey.TIER_UPGRADE in [n.journey for n in seen.notices]
    silver = seen.member
    pos = next_best_actions(silver, demo, Ask(Channel.POS, T0), 3)
    assert pos[0].kind is ActionKind.TIER_CELEBRATION and pos[0].key == "TIER_CELEBRATION:silver"
    acked = record_outcome(silver, pos[0].key, ActionOutcome.SHOWN, Channel.POS, demo, T0).member
    assert ActionKind.TIER_CELEBRATION not in kinds(
        next_best_actions(acked, demo, Ask(Channel.POS, T0), 5)
    )
    assert ActionKind.TIER_CELEBRATION in kinds(
        next_best_actions(acked, demo, Ask(Channel.APP, T0), 5)
    )


def test_win_back_fires_once_when_the_risk_crosses(member: Member, demo: ProgramDef) -> None:
    buyer = consenting(buying(member, demo, [0, 10, 20]), sms=True)
    due = journeys.due_at(buyer, demo)
    assert due is not None
    before_crossing = observe(
        buyer, Outcome(member=buyer, changes=()), demo, due - timedelta(hours=1)
    )
    assert before_crossing.notices == ()
    crossed = observe(buyer, Outcome(member=buyer, changes=()), demo, due + timedelta(hours=1))
    assert [n.journey for n in crossed.notices] == [Journey.WIN_BACK]
    again = observe(
        crossed.member, Outcome(member=crossed.member, changes=()), demo, due + timedelta(days=3)
    )
    assert again.notices == ()


def test_points_about_to_expire_are_announced_once(member: Member, demo: ProgramDef) -> None:
    expires = T0 + timedelta(days=10)
    holding = replace(
        consenting(with_points(member, 80), email=True),
        lots=(
            PointsLot(seq=32, points=80, earned_at=T0 - timedelta(days=355), expires_at=expires),
        ),
    )
    due = journeys.due_at(holding, demo)
    assert due == expires - timedelta(days=demo.points.notice_days)
    first = observe(holding, Outcome(member=holding, changes=()), demo, T0)
    assert [n.journey for n in first.notices] == [Journey.POINTS_EXPIRING]
    assert "80 points expire on" in first.notices[0].message
    assert observe(first.member, Outcome(member=first.member, changes=()), demo, T0).notices == ()


def test_caps_apply_to_journeys(member: Member, demo: ProgramDef) -> None:
    opted = consenting(member, sms=True)  # SMS: one a day
    after, first = journeys.journeys(None, opted, demo, T0)
    ctx = Context(now=T0, actor="t", channel=Channel.POS, store_id="s-1")
    outcome = record_purchase(after, Decimal("600"), "o-1", T0, demo, ctx)
    second = observe(after, outcome, demo, T0).notices
    assert first[0].status is NoticeStatus.PENDING
    assert second and all(n.status is NoticeStatus.SUPPRESSED for n in second)
    assert "cap of 1 a day on SMS" in (second[0].reason or "")


def test_a_redemption_closes_its_reward_everywhere(member: Member, demo: ProgramDef) -> None:
    from loyalty.rewards import redeem

    m = with_points(member, 600)
    ctx = Context(now=T0, actor="t", channel=Channel.POS, store_id="s-1")
    five_off = demo.reward("five-off")
    assert five_off is not None
    redeemed = observe(m, redeem(m, five_off, "CODE", demo, ctx), demo, T0).member
    assert orchestration.closed(redeemed.engagement, "reward:five-off", T0)


# --- the program file ------------------------------------------------------------------------


def test_a_bad_decisions_key_is_named() -> None:
    text = (
        DEMO_PATH.read_text(encoding="utf-8")
        .replace("SMS = { day = 1, week = 1 }", "SMS = { day = -1, week = 1 }")
        .replace('timezone = "Europe/Amsterdam"', 'timezone = "Mars/Olympus"')
    )
    with pytest.raises(ProgramFileError) as failed:
        parse_program(text)
    assert "decisions.caps.SMS.day" in str(failed.value)
    assert "decisions.quiet_hours.timezone" in str(failed.value)


def test_the_win_back_reward_must_exist() -> None:
    text = DEMO_PATH.read_text(encoding="utf-8").replace('reward = "five-off"', 'reward = "nope"')
    with pytest.raises(ProgramFileError, match=r"decisions\.win_back\.reward"):
        parse_program(text)
