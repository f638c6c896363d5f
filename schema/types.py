"""Object types of the graph. Each wraps a domain object and only translates it."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from db import ids
from loyalty import masking, model
from loyalty.challenges import current as challenge_state
from loyalty.decisions import actions, churn, outcomes
from loyalty.money import points_value
from loyalty.points import expiring_soon
from loyalty.program import ProgramDef, RewardDef, TierDef
from loyalty.rewards import effective_status, is_eligible, is_reversible
from loyalty.tiers import TierProgress, progress_of, qualifying_at
from resolvers.access import masks_personal_data
from resolvers.context import Context
from schema.enums import (
    ActionKind,
    ActivityKind,
    ChallengePeriod,
    ChangeKind,
    Channel,
    ExpiryPolicy,
    IdentifierKind,
    IssuedRewardStatus,
    LedgerEntryKind,
    LedgerEntryStatus,
    NegativeBalancePolicy,
)

MAX_PAGE = 100


def _program(info: Info[Context, None]) -> ProgramDef:
    return info.context.services.program


@strawberry.interface(description="An object with a global, opaque id (see `Query.node`).")
class Node:
    @strawberry.field
    def id(self) -> strawberry.ID:
        raise NotImplementedError


@strawberry.type(description="An amount of money.")
class Money:
    amount: str = strawberry.field(description='Decimal as a string, e.g. "12.50".')
    currency_code: str = strawberry.field(description="ISO-4217 currency code.")


@strawberry.type(description="One way the member is known: email, phone, card, device, cookie.")
class Identifier:
    kind: IdentifierKind
    value: str = strawberry.field(description="The normalised value.")
    verified: bool
    linked_at: datetime


@strawberry.type(description="What the member agreed to be contacted through and used for.")
class Consents:
    email: bool
    sms: bool
    push: bool
    personalization: bool


@strawberry.type(description="One answer the member gave about themselves (zero-party data).")
class ProfileAnswer:
    key: str = strawberry.field(description="The question, e.g. preferredCategories.")
    value: str = strawberry.field(description="The member's answer.")


@strawberry.type(description="The member's personal details and preferences.")
class Profile:
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None = strawberry.field(description="E.164, e.g. +31612345678.")
    birthday: str | None = strawberry.field(description="YYYY-MM-DD.")
    preferred_channel: Channel | None
    preferred_store_id: strawberry.ID | None
    consents: Consents
    answers: list[ProfileAnswer] = strawberry.field(
        default_factory=list,
        description="What the member told us when completing the profile, e.g. preferred "
        "categories (recordActivity PROFILE_COMPLETED attributes).",
    )

    @classmethod
    def of(cls, p: model.Profile, *, masked: bool = False) -> Profile:
        c = p.consents

        def shown(value: str | None, mask: Callable[[str], str]) -> str | None:
            return mask(value) if masked and value is not None else value

        return cls(
            first_name=shown(p.first_name, masking.name),
            last_name=shown(p.last_name, masking.name),
            email=shown(p.email, masking.email),
            phone=shown(p.phone, masking.phone),
            birthday=shown(p.birthday, masking.birthday),
            preferred_channel=p.preferred_channel,
            preferred_store_id=strawberry.ID(p.preferred_store_id)
            if p.preferred_store_id
            else None,
            consents=Consents(
                email=c.email, sms=c.sms, push=c.push, personalization=c.personalization
            ),
            answers=[ProfileAnswer(key=k, value=v) for k, v in p.answers],
        )


@strawberry.type(description="A block of points that expires at one time.")
class ExpiringPoints:
    points: int
    expires_at: datetime


@strawberry.type(description="The member's points: spendable, pending and ever earned.")
class PointsBalance:
    state: strawberry.Private[model.Balance]
    member: strawberry.Private[model.Member | None] = None

    @strawberry.field(description="Points spendable now.")
    def available(self) -> int:
        return self.state.available

    @strawberry.field(description="Earned, not yet spendable (inside the return window).")
    def pending(self) -> int:
        return self.state.pending

    @strawberry.field(description="All points ever earned.")
    def lifetime(self) -> int:
        return self.state.lifetime

    @strawberry.field(description="What `available` is worth at the program's point value.")
    def value(self, info: Info[Context, None]) -> Money:
        program = _program(info)
        return Money(
            amount=str(points_value(self.state.available, program)),
            currency_code=program.currency,
        )

    @strawberry.field(
        description="Points due to expire within the program's notice window, soonest first "
        "(lots expiring at the same moment together). Empty while the program has no expiry."
    )
    def expiring_soon(self, info: Info[Context, None]) -> list[ExpiringPoints]:
        if self.member is None:
            return []
        due = expiring_soon(self.member, info.context.now, _program(info))
        return [ExpiringPoints(points=points, expires_at=at) for at, points in due]


@strawberry.type(description="A tier of the program.")
class Tier:
    state: strawberry.Private[TierDef]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.state.id)

    @strawberry.field
    def name(self) -> str:
        return self.state.name

    @strawberry.field(description="Qualifying points needed.")
    def threshold(self) -> int:
        return self.state.threshold

    @strawberry.field(description="Points multiplier on purchases while in this tier.")
    def earn_multiplier(self) -> float:
        return float(self.state.earn_multiplier)

    @strawberry.field
    def benefits(self) -> list[str]:
        return list(self.state.benefits)


@strawberry.type(description="Where the member stands among the tiers.")
class TierStatus:
    state: strawberry.Private[model.TierState]
    # (qualifying points, progress), worked out once for the four fields that need them
    worked_out: strawberry.Private[tuple[int, TierProgress] | None] = None

    @strawberry.field
    def current(self, info: Info[Context, None]) -> Tier:
        return Tier(state=_program(info).tier(self.state.tier_id))

    @strawberry.field(description="The tier above; null at the top tier.")
    def next(self, info: Info[Context, None]) -> Tier | None:
        upcoming = self._progress(info).next
        return Tier(state=upcoming) if upcoming else None

    @strawberry.field(description="Qualifying points inside the program's qualification window.")
    def qualifying_points(self, info: Info[Context, None]) -> int:
        return self._work_out(info)[0]

    @strawberry.field(description="Qualifying points still needed for `next`; null at the top.")
    def points_to_next(self, info: Info[Context, None]) -> int | None:
        return self._progress(info).points_to_next

    @strawberry.field(description="0.0 .. 1.0 towards `next`.")
    def progress(self, info: Info[Context, None]) -> float:
        return self._progress(info).progress

    @strawberry.field(description="When the member reached the current tier.")
    def since(self) -> datetime:
        return self.state.since

    @strawberry.field(
        description="The tier held before the current one (null before any change): with "
        "`current`, the old and new tier of a TIER_CHANGED."
    )
    def previous(self, info: Info[Context, None]) -> Tier | None:
        tier_id = self.state.previous
        return Tier(state=_program(info).tier(tier_id)) if tier_id else None

    def _progress(self, info: Info[Context, None]) -> TierProgress:
        return self._work_out(info)[1]

    def _work_out(self, info: Info[Context, None]) -> tuple[int, TierProgress]:
        if self.worked_out is None:
            program = _program(info)
            points = qualifying_at(self.state, info.context.now, program)
            progress = progress_of(points, program.tier(self.state.tier_id), program)
            self.worked_out = (points, progress)
        return self.worked_out


@strawberry.type(description="A reward of the catalogue.")
class Reward(Node):
    state: strawberry.Private[RewardDef]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(ids.reward_id(self.state.id))

    @strawberry.field
    def name(self) -> str:
        return self.state.name

    @strawberry.field
    def description(self) -> str | None:
        return self.state.description

    @strawberry.field(description="Cost in points.")
    def cost(self) -> int:
        return self.state.cost

    @strawberry.field(description="The lowest tier that may redeem it; null for every tier.")
    def minimum_tier(self, info: Info[Context, None]) -> Tier | None:
        tier_id = self.state.minimum_tier
        return Tier(state=_program(info).tier(tier_id)) if tier_id else None

    @strawberry.field(description="Where it can be redeemed.")
    def channels(self) -> list[Channel]:
        return list(self.state.channels)

    @strawberry.field(description="Whether the catalogue offers it now.")
    def available(self) -> bool:
        return self.state.active


@strawberry.type(description="A reward the member redeemed points for: a code to show.")
class IssuedReward(Node):
    state: strawberry.Private[model.IssuedReward]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.state.id)

    @strawberry.field
    def reward(self, info: Info[Context, None]) -> Reward:
        found = _program(info).reward(self.state.reward_id)
        if found is None:  # a reward removed from the catalogue after it was issued
            raise GraphQLError("the reward is no longer in the catalogue")
        return Reward(state=found)

    @strawberry.field(description="Shown as a barcode or QR code at the till.")
    def code(self) -> str:
        return self.state.code

    @strawberry.field
    def status(self, info: Info[Context, None]) -> IssuedRewardStatus:
        return effective_status(self.state, info.context.now)

    @strawberry.field
    def issued_at(self) -> datetime:
        return self.state.issued_at

    @strawberry.field
    def expires_at(self) -> datetime | None:
        return self.state.expires_at

    @strawberry.field
    def used_at(self) -> datetime | None:
        return self.state.used_at


@strawberry.type(description="One movement of points. A member's entries sum to its balance.")
class LedgerEntry(Node):
    state: strawberry.Private[model.LedgerEntry]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.state.id)

    @strawberry.field
    def kind(self) -> LedgerEntryKind:
        return self.state.kind

    @strawberry.field(description="Signed: earning positive, spending negative.")
    def points(self) -> int:
        return self.state.points

    @strawberry.field(description="available + pending right after this entry.")
    def balance_after(self) -> int:
        return self.state.balance_after

    @strawberry.field
    def channel(self) -> Channel | None:
        return self.state.channel

    @strawberry.field
    def store_id(self) -> strawberry.ID | None:
        return strawberry.ID(self.state.store_id) if self.state.store_id else None

    @strawberry.field
    def description(self) -> str:
        return self.state.description

    @strawberry.field(description="Who and why, for adjustments.")
    def reason(self) -> str | None:
        return self.state.reason

    @strawberry.field
    def occurred_at(self) -> datetime:
        return self.state.occurred_at

    @strawberry.field
    def status(self) -> LedgerEntryStatus:
        return self.state.status

    @strawberry.field(description="When a PENDING entry becomes AVAILABLE.")
    def available_at(self) -> datetime | None:
        return self.state.available_at

    @strawberry.field(description="False once reversed, or for kinds that cannot be reversed.")
    def reversible(self) -> bool:
        return is_reversible(self.state)

    @strawberry.field(description="Who made the change: the token's subject (agent, till, job).")
    def actor(self) -> str:
        return self.state.actor

    @strawberry.field(description="For a REVERSAL: the id of the entry it takes back.")
    def reverses(self) -> strawberry.ID | None:
        return strawberry.ID(self.state.reverses) if self.state.reverses else None

    @strawberry.field(description="For a purchase: the money returned so far (decimal string).")
    def returned_amount(self) -> str | None:
        return self.state.returned_amount


@strawberry.type(description="Paging information of a connection.")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class LedgerEntryEdge:
    cursor: str
    node: LedgerEntry


@strawberry.type(description="A page of the member's activity, newest first.")
class LedgerEntryConnection:
    edges: list[LedgerEntryEdge]
    page_info: PageInfo


@strawberry.type(description="The member's progress in a challenge.")
class ChallengeProgress:
    challenge_id: strawberry.ID
    name: str
    progress: int
    goal: int
    completed: bool
    reward_points: int


@strawberry.type(description="What to do next for this member on this channel, and why.")
class NextBestAction:
    id: strawberry.ID = strawberry.field(description="Stable for (member, action).")
    kind: ActionKind
    channel: Channel = strawberry.field(description="Where to show or send it.")
    title: str
    message: str
    reward: Reward | None
    score: float = strawberry.field(description="Higher is better; actions come sorted by score.")
    reasons: list[str] = strawberry.field(description="Why this action was chosen, in plain words.")


@strawberry.input(description="The surface asking for decisions.")
class DecisionContext:
    channel: Channel
    store_id: strawberry.ID | None = None
    at: datetime | None = strawberry.field(default=None, description="Defaults to now.")


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind != "seq":
            raise ValueError(kind)
        return int(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise GraphQLError("malformed cursor", extensions={"code": "INVALID_INPUT"}) from exc


@strawberry.type(description="A loyalty member: who they are, what they hold, what comes next.")
class Member(Node):
    state: strawberry.Private[model.Member]
    # Set only on the member a revealMember answer carries: personal data unmasked there.
    revealed: strawberry.Private[bool] = False

    def _masked(self, info: Info[Context, None]) -> bool:
        return not self.revealed and masks_personal_data(info.context.viewer)

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.state.id)

    @strawberry.field(description="+1 on every change of member state; never goes back.")
    def version(self) -> int:
        return self.state.version

    @strawberry.field
    def enrolled_at(self) -> datetime:
        return self.state.enrolled_at

    @strawberry.field
    def enrollment_channel(self) -> Channel:
        return self.state.enrollment_channel

    @strawberry.field
    def profile(self, info: Info[Context, None]) -> Profile:
        return Profile.of(self.state.profile, masked=self._masked(info))

    @strawberry.field
    def identifiers(self, info: Info[Context, None]) -> list[Identifier]:
        masked = self._masked(info)
        return [
            Identifier(
                kind=i.kind,
                value=masking.identifier(i.kind, i.value) if masked else i.value,
                verified=i.verified,
                linked_at=i.linked_at,
            )
            for i in self.state.identifiers
        ]

    @strawberry.field
    def balance(self) -> PointsBalance:
        return PointsBalance(state=self.state.balance, member=self.state)

    @strawberry.field
    def tier(self) -> TierStatus:
        return TierStatus(state=self.state.tier)

    @strawberry.field(description="Rewards issued to the member, newest first.")
    async def rewards(
        self, info: Info[Context, None], status: IssuedRewardStatus | None = None
    ) -> list[IssuedReward]:
        issued = await info.context.loaders.issued_rewards.load(self.state.id)
        now = info.context.now
        return [
            IssuedReward(state=r)
            for r in issued
            if status is None or effective_status(r, now) is status
        ]

    @strawberry.field(description="Rewards the member can redeem now (on `channel` if given).")
    def eligible_rewards(
        self, info: Info[Context, None], channel: Channel | None = None
    ) -> list[Reward]:
        program = _program(info)
        return [
            Reward(state=r) for r in program.rewards if is_eligible(self.state, r, channel, program)
        ]

    @strawberry.field(description="Every challenge of the program, in its current period.")
    def challenges(self, info: Info[Context, None]) -> list[ChallengeProgress]:
        now = info.context.now
        shown = []
        for challenge in _program(info).challenges:
            state = challenge_state(self.state, challenge, now)
            shown.append(
                ChallengeProgress(
                    challenge_id=strawberry.ID(challenge.id),
                    name=challenge.name,
                    progress=state.progress,
                    goal=challenge.goal,
                    completed=state.completed,
                    reward_points=challenge.reward_points,
                )
            )
        return shown

    @strawberry.field(description="The member's ledger, newest first; `first` at most 100.")
    async def activity(
        self, info: Info[Context, None], first: int | None = 20, after: str | None = None
    ) -> LedgerEntryConnection:
        if first is None:
            first = 20
        if not 0 <= first <= MAX_PAGE:
            raise GraphQLError(
                f"first must be between 0 and {MAX_PAGE}", extensions={"code": "INVALID_INPUT"}
            )
        before = decode_cursor(after) if after else None
        rows = await info.context.services.reads.activity_page(
            self.state.id, first + 1, before, self.state.version
        )
        page = rows[:first]
        edges = [
            LedgerEntryEdge(cursor=encode_cursor(e.seq), node=LedgerEntry(state=e)) for e in page
        ]
        return LedgerEntryConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(rows) > first,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )

    @strawberry.field
    def last_activity_at(self) -> datetime | None:
        return self.state.last_activity_at

    @strawberry.field(
        description=(
            "The member this one was merged into, on a merged member's own record; null for a "
            "live member. `member`, `node` and `memberByIdentifier` follow it to the survivor."
        )
    )
    def merged_into(self) -> strawberry.ID | None:
        merged_into = self.state.merged_into
        return strawberry.ID(merged_into) if merged_into else None

    @strawberry.field(
        description="0.0 .. 1.0: how likely the member is to drift away, at the moment asked "
        "(recency against the member's own purchase rhythm and the program's, frequency, spend)."
    )
    def churn_risk(self, info: Info[Context, None]) -> float:
        return churn.score(self.state, _program(info).decisions.churn, info.context.now).risk

    @strawberry.field(description="The factors behind churnRisk, in plain words.")
    def churn_factors(self, info: Info[Context, None]) -> list[str]:
        scored = churn.score(self.state, _program(info).decisions.churn, info.context.now)
        return list(scored.reasons)

    @strawberry.field(
        description="Ranked actions for the channel asking; `first` is 0 to 20. Never an action "
        "the member may not see there, never a message without consent, never two actions for "
        "the same reward; SUPPRESS_MESSAGE alone when a cap or quiet hours forbid."
    )
    def next_best_actions(
        self, info: Info[Context, None], context: DecisionContext, first: int | None = 3
    ) -> list[NextBestAction]:
        count = 3 if first is None else first
        if not 0 <= count <= actions.MAX_ACTIONS:
            raise GraphQLError(
                f"first must be between 0 and {actions.MAX_ACTIONS}",
                extensions={"code": "INVALID_INPUT"},
            )
        at = context.at or info.context.now
        if at.tzinfo is None:
            raise GraphQLError("give `at` a time zone", extensions={"code": "INVALID_INPUT"})
        program = _program(info)
        ask = actions.Ask(channel=context.channel, at=at, store_id=context.store_id)
        chosen = actions.next_best_actions(self.state, program, ask, count)
        shown = []
        for a in chosen:
            reward = program.reward(a.reward_id) if a.reward_id else None
            shown.append(
                NextBestAction(
                    id=strawberry.ID(outcomes.action_id(self.state.id, a.key)),
                    kind=a.kind,
                    channel=a.channel,
                    title=a.title,
                    message=a.message,
                    reward=Reward(state=reward) if reward else None,
                    score=a.score,
                    reasons=list(a.reasons),
                )
            )
        return shown


@strawberry.type(description="How points are held and lost.")
class PointsPolicy:
    expiry: ExpiryPolicy
    validity_months: int = strawberry.field(description="FIFO: a lot's life.")
    inactivity_months: int = strawberry.field(description="INACTIVITY: months without activity.")
    notice_days: int = strawberry.field(description="How far `balance.expiringSoon` looks ahead.")
    negative_balance: NegativeBalancePolicy


@strawberry.type(description="What an activity earns, and its cap.")
class ActivityRule:
    kind: ActivityKind
    points: int = strawberry.field(description="Before the tier's multiplier.")
    cap: int | None = strawberry.field(
        description="REVIEW: per calendar month; SOCIAL_SHARE: per ISO week; others once or "
        "unlimited (see the README)."
    )


@strawberry.type(description="A challenge of the program.")
class Challenge:
    id: strawberry.ID
    name: str
    goal: int
    reward_points: int
    period: ChallengePeriod


@strawberry.type(description="The loyalty program's definition.")
class Program:
    state: strawberry.Private[ProgramDef]

    @strawberry.field
    def name(self) -> str:
        return self.state.name

    @strawberry.field(description="What one point is worth.")
    def point_value(self) -> Money:
        return Money(amount=str(self.state.point_value), currency_code=self.state.currency)

    @strawberry.field(
        description="Base points per unit of currency before the tier's multiplier; points of a "
        "purchase = floor(amount x earnRate x multiplier)."
    )
    def earn_rate(self) -> float:
        return float(self.state.earn_rate)

    @strawberry.field(description="Purchase points stay pending this long; 0 = available at once.")
    def return_window_days(self) -> int:
        return self.state.return_window_days

    @strawberry.field
    def tiers(self) -> list[Tier]:
        return [Tier(state=t) for t in self.state.tiers]

    @strawberry.field
    def rewards(self) -> list[Reward]:
        return [Reward(state=r) for r in self.state.rewards]

    @strawberry.field(description="Expiry and the negative-balance policy.")
    def points_policy(self) -> PointsPolicy:
        p = self.state.points
        return PointsPolicy(
            expiry=p.expiry,
            validity_months=p.validity_months,
            inactivity_months=p.inactivity_months,
            notice_days=p.notice_days,
            negative_balance=p.negative_balance,
        )

    @strawberry.field(description="Points per activity kind; kinds left out earn nothing.")
    def activities(self) -> list[ActivityRule]:
        return [
            ActivityRule(kind=kind, points=rule.points, cap=rule.cap)
            for kind, rule in self.state.activities.items()
        ]

    @strawberry.field
    def challenges(self) -> list[Challenge]:
        return [
            Challenge(
                id=strawberry.ID(c.id),
                name=c.name,
                goal=c.goal,
                reward_points=c.reward_points,
                period=c.period,
            )
            for c in self.state.challenges
        ]

    @strawberry.field(description="Bonus to a member who joins through a referral.")
    def referral_welcome_bonus(self) -> int:
        return self.state.referral.welcome_bonus

    @strawberry.field(description="Bonus to the referrer at the referee's first purchase.")
    def referrer_bonus(self) -> int:
        return self.state.referral.referrer_bonus

    @strawberry.field(description="Once a year in the birthday month.")
    def birthday_bonus(self) -> int:
        return self.state.birthday.bonus

    @strawberry.field(description="Tiers count qualifying points over this many months.")
    def qualifying_months(self) -> int:
        return self.state.tiering.qualifying_months

    @strawberry.field(description="Days below a tier's threshold before a re-evaluation lowers it.")
    def tier_grace_days(self) -> int:
        return self.state.tiering.grace_days


@strawberry.type(description="One committed change of a member, pushed to its subscribers.")
class MemberUpdate:
    member_id: strawberry.ID
    version: int = strawberry.field(description="The member's version after this change.")
    changes: list[ChangeKind]
    member: Member = strawberry.field(description="The state at `version`.")
    entry: LedgerEntry | None = strawberry.field(
        description="The ledger entry behind this change, when there is one."
    )
    coalesced: bool = strawberry.field(
        default=False,
        description="True when this message stands for several changes (a catch-up after "
        "`sinceVersion`, a reconnect or a slow connection); `entry` is then null.",
    )


@strawberry.type(description="Something that happened at a store, for its POS and kiosk screens.")
class StoreEvent:
    store_id: strawberry.ID
    kind: ChangeKind
    member: Member
    at: datetime


@strawberry.type(description="Program KPIs for admins, over a period.")
class ProgramStats:
    period_start: datetime = strawberry.field(description="Start of the period (inclusive).")
    period_end: datetime = strawberry.field(description="End of the period (exclusive).")
    members: int = strawberry.field(description="Members enrolled, all time.")
    active_members_30d: int = strawberry.field(description="Active in the 30 days to periodEnd.")
    active_members_90d: int = strawberry.field(description="Active in the 90 days to periodEnd.")
    points_issued: int = strawberry.field(
        description="Earned and bonus points, plus positive adjustments, in the period."
    )
    points_redeemed: int = strawberry.field(description="Points spent on rewards in the period.")
    points_expired: int = strawberry.field(description="Points that expired in the period.")
    points_reversed: int = strawberry.field(
        description="Points taken back by reversals and returns in the period."
    )
    points_outstanding: int = strawberry.field(
        description="Available + pending points held by all members now."
    )
    redemption_rate: float = strawberry.field(
        description="pointsRedeemed / pointsIssued in the period; 0 when nothing was issued."
    )
    outstanding_liability: Money = strawberry.field(
        description="What the outstanding points are worth at the point value."
    )
