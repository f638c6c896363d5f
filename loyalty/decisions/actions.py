"""Next best actions: what to do for this member, on this channel, now, ranked and explained.

Surfaces (app, web, till, kiosk, call centre) get things to show; message channels (push,
email, SMS) get what to send, or SUPPRESS_MESSAGE when consent, a cap or quiet hours forbid.
Each action has a stable key per member (`SHOW_REWARD:free-coffee`) and belongs to a storyline
(`reward:free-coffee`): a dismissal cools the key down on its channel, a conversion closes the
storyline on every channel, and no two actions of one answer carry the same reward.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

from loyalty import challenges
from loyalty.channel import MESSAGE_CHANNELS, Channel
from loyalty.decisions import churn, orchestration
from loyalty.model import Member
from loyalty.program import ProgramDef, RewardDef
from loyalty.tiers import rank

MAX_ACTIONS = 20


class ActionKind(str, Enum):
    SHOW_REWARD = "SHOW_REWARD"
    SHOW_OFFER = "SHOW_OFFER"
    SEND_MESSAGE = "SEND_MESSAGE"
    SUPPRESS_MESSAGE = "SUPPRESS_MESSAGE"
    WIN_BACK = "WIN_BACK"
    TIER_CELEBRATION = "TIER_CELEBRATION"
    ONBOARDING = "ONBOARDING"
    COMPLETE_PROFILE = "COMPLETE_PROFILE"


@dataclass(frozen=True)
class Ask:
    """The surface asking, where, and when."""

    channel: Channel
    at: datetime
    store_id: str | None = None


@dataclass(frozen=True)
class Action:
    key: str  # stable per member: "SHOW_REWARD:free-coffee"
    kind: ActionKind
    channel: Channel
    title: str
    message: str
    score: float
    reasons: tuple[str, ...]
    reward_id: str | None = None


def kind_of(key: str) -> ActionKind | None:
    head = key.split(":", 1)[0]
    return ActionKind.__members__.get(head)


def storyline(key: str) -> str:
    """The thread an action belongs to across kinds and channels."""
    head, _, rest = key.partition(":")
    if head == ActionKind.SHOW_REWARD.value:
        return f"reward:{rest}"
    if head == ActionKind.SEND_MESSAGE.value:
        return rest
    if head == ActionKind.TIER_CELEBRATION.value:
        return f"tier:{rest}"
    if head == ActionKind.SHOW_OFFER.value:
        return f"challenge:{rest}"
    if head == ActionKind.WIN_BACK.value:
        return "win-back"
    return key


def visible(member: Member, reward: RewardDef, channel: Channel, program: ProgramDef) -> bool:
    """The member may see the reward on this channel: active, offered there, tier high enough."""
    if not reward.active or channel not in reward.channels:
        return False
    return reward.minimum_tier is None or rank(member.tier.tier_id, program) >= rank(
        reward.minimum_tier, program
    )


@dataclass(frozen=True)
class _Topic:
    """Something worth saying, before it is turned into an action for one channel."""

    storyline: str
    kind: ActionKind  # what a surface shows for it
    title: str
    message: str
    score: float
    reasons: tuple[str, ...]
    reward_id: str | None = None
    surface_only: bool = False  # not worth a message (challenges, profile, app download)


def _celebration(member: Member, program: ProgramDef, ask: Ask) -> list[_Topic]:
    e, d = member.engagement, program.decisions
    if e.upgraded_to is None or e.upgraded_at is None or e.upgraded_to != member.tier.tier_id:
        return []
    if ask.at - e.upgraded_at > timedelta(days=d.celebration_days):
        return []
    if e.celebrated.get(ask.channel.value) == e.upgraded_to:
        return []
    name = program.tier(e.upgraded_to).name
    return [
        _Topic(
            f"tier:{e.upgraded_to}",
            ActionKind.TIER_CELEBRATION,
            f"Welcome to {name}!",
            f"You reached {name}: enjoy your new benefits.",
            0.95,
            (
                f"upgraded to {name} on {e.upgraded_at.date().isoformat()}",
                f"not yet celebrated on {ask.channel.value}",
            ),
        )
    ]


def _win_back(member: Member, program: ProgramDef, ask: Ask) -> list[_Topic]:
    d = program.decisions
    scored = churn.score(member, d.churn, ask.at)
    if scored.risk < d.churn.threshold:
        return []
    offer = d.win_back
    reward = program.reward(offer.reward) if offer.reward else None
    if reward is not None and not visible(member, reward, ask.channel, program):
        reward = None  # still win them back, without a reward they cannot see here
    message = offer.message
    if offer.bonus_points:
        message += f" {offer.bonus_points} bonus points on your next purchase."
    return [
        _Topic(
            "win-back",
            ActionKind.WIN_BACK,
            "We miss you",
            message,
            0.6 + 0.35 * scored.risk,
            scored.reasons,
            reward.id if reward else None,
        )
    ]


def _rewards(member: Member, program: ProgramDef, ask: Ask) -> list[_Topic]:
    near = program.decisions.near_points
    available = member.balance.available
    top = max((r.cost for r in program.rewards), default=1)
    topics = []
    for reward in program.rewards:
        if not visible(member, reward, ask.channel, program):
            continue
        short = reward.cost - available
        if short <= 0:
            score = 0.55 + 0.25 * reward.cost / top
            message = f"Redeem {reward.name} for {reward.cost} points."
            why = f"affordable: {available} points available, it costs {reward.cost}"
        elif short <= near:
            score = 0.5 + 0.2 * (1 - short / max(near, 1))
            message = f"{short} points from a {reward.name}."
            why = f"{short} points short of {reward.name} ({reward.cost} points)"
        else:
            continue
        topics.append(
            _Topic(
                f"reward:{reward.id}",
                ActionKind.SHOW_REWARD,
                reward.name,
                message,
                score,
                (why, f"offered on {ask.channel.value} at the {member.tier.tier_id} tier"),
                reward.id,
            )
        )
    return topics


def _offers(member: Member, program: ProgramDef, ask: Ask) -> list[_Topic]:
    topics = []
    for challenge in program.challenges:
        state = challenges.current(member, challenge, ask.at)
        if state.completed or state.progress >= challenge.goal:
            continue
        left = challenge.goal - state.progress
        topics.append(
            _Topic(
                f"challenge:{challenge.id}",
                ActionKind.SHOW_OFFER,
                challenge.name,
                f"{left} more to earn {challenge.reward_points} points.",
                0.3 + 0.2 * state.progress / challenge.goal,
                (f"{state.progress} of {challenge.goal} done", "a challenge of the program"),
                surface_only=True,
            )
        )
    return topics


def _onboarding(member: Member, program: ProgramDef, ask: Ask) -> list[_Topic]:
    age = ask.at - member.enrolled_at
    if age > timedelta(days=program.decisions.onboarding_days):
        return []
    days = f"enrolled {age.days} days ago"
    topics = []
    if member.engagement.purchases == 0:
        # What the member looked at as a guest, before enrolling, makes a first purchase likelier.
        viewed = dict(member.guest_activity).get("PRODUCT_VIEW", 0)
        before = (f"viewed {viewed} products before enrolling",) if viewed else ()
        topics.append(
            _Topic(
                "ONBOARDING:first-purchase",
                ActionKind.ONBOARDING,
                "Your first purchase",
                "Earn your first points with your first purchase.",
                0.5 + min(viewed, 10) * 0.01,
                (days, "no purchase yet", *before),
            )
        )
    if "APP_DOWNLOAD" not in member.counters and ask.channel is not Channel.APP:
        topics.append(
            _Topic(
                "ONBOARDING:app-download",
                ActionKind.ONBOARDING,
                "Get the app",
                "Download the app to carry your card and see your rewards.",
                0.45,
                (days, "the app was not downloaded yet"),
                surface_only=True,
            )
        )
    return topics


def _profile(member: Member, program: ProgramDef, ask: Ask) -> list[_Topic]:
    if "PROFILE_COMPLETED" in member.counters:
        return []
    p = member.profile
    missing = [
        name
        for name, value in (
            ("first name", p.first_name),
            ("birthday", p.birthday),
            ("preferences", p.answers),
        )
        if not value
    ]
    if not missing:
        return []
    return [
        _Topic(
            "COMPLETE_PROFILE",
            ActionKind.COMPLETE_PROFILE,
            "Complete your profile",
            "Tell us a little more about you for offers that fit.",
            0.3,
            (f"missing: {', '.join(missing)}",),
            surface_only=True,
        )
    ]


def _topics(member: Member, program: ProgramDef, ask: Ask) -> list[_Topic]:
    return [
        *_celebration(member, program, ask),
        *_win_back(member, program, ask),
        *_rewards(member, program, ask),
        *_offers(member, program, ask),
        *_onboarding(member, program, ask),
        *_profile(member, program, ask),
    ]


def _suppress(channel: Channel, why: str) -> Action:
    return Action(
        f"SUPPRESS_MESSAGE:{channel.value}",
        ActionKind.SUPPRESS_MESSAGE,
        channel,
        "Stay silent",
        "Do not send or show anything more now.",
        1.0,
        (why,),
    )


def _key(topic: _Topic, message: bool) -> str:
    if message:
        return f"{ActionKind.SEND_MESSAGE.value}:{topic.storyline}"
    if topic.kind is ActionKind.SHOW_REWARD:
        return f"{topic.kind.value}:{topic.reward_id}"
    if topic.kind is ActionKind.TIER_CELEBRATION:
        return f"{topic.kind.value}:{topic.storyline.partition(':')[2]}"
    if topic.kind is ActionKind.SHOW_OFFER:
        return f"{topic.kind.value}:{topic.storyline.partition(':')[2]}"
    if topic.kind is ActionKind.WIN_BACK:
        return str(ActionKind.WIN_BACK.value)
    return topic.storyline


def blocked(member: Member, program: ProgramDef, ask: Ask) -> str | None:
    """Why nothing may go out on the asking channel now (consent, cap, quiet hours), or None."""
    d = program.decisions
    if ask.channel in MESSAGE_CHANNELS:
        if not orchestration.consented(member, ask.channel):
            return f"no consent for {ask.channel.value} messages"
        until = orchestration.quiet_until(ask.at, d)
        if until is not None:
            return f"quiet hours until {d.quiet_hours.end} ({d.quiet_hours.timezone})"
    return orchestration.cap_reached(member.engagement, ask.channel, ask.at, d)


def next_best_actions(member: Member, program: ProgramDef, ask: Ask, first: int) -> list[Action]:
    """The member's best actions on `ask.channel` at `ask.at`, best first, at most `first`."""
    if member.merged_into is not None or first <= 0:
        return []
    why = blocked(member, program, ask)
    if why is not None:
        return [_suppress(ask.channel, why)]
    message = ask.channel in MESSAGE_CHANNELS
    e = member.engagement
    actions: list[Action] = []
    for topic in _topics(member, program, ask):
        if message and topic.surface_only:
            continue
        key = _key(topic, message)
        if orchestration.closed(e, topic.storyline, ask.at):
            continue
        if orchestration.cooling(e, ask.channel, key, ask.at):
            continue
        if topic.reward_id and orchestration.closed(e, f"reward:{topic.reward_id}", ask.at):
            if topic.kind is not ActionKind.WIN_BACK:
                continue
            topic = replace(topic, reward_id=None)  # win them back without what they just used
        kind = ActionKind.SEND_MESSAGE if message else topic.kind
        actions.append(
            Action(
                key,
                kind,
                ask.channel,
                topic.title,
                topic.message,
                round(topic.score, 4),
                topic.reasons,
                topic.reward_id,
            )
        )
    actions.sort(key=lambda a: (-a.score, a.key))
    best: list[Action] = []
    rewards: set[str] = set()
    for action in actions:
        if action.reward_id is not None:
            if action.reward_id in rewards:
                continue  # never two actions for the same reward
            rewards.add(action.reward_id)
        best.append(action)
    return best[: min(first, MAX_ACTIONS)]
