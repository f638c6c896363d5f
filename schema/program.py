"""The program's definition and its rules (points policy, activities, challenges), and its
KPIs for admins."""

from __future__ import annotations

from datetime import datetime

import strawberry

from loyalty.program import ProgramDef
from schema.enums import ActivityKind, ChallengePeriod, ExpiryPolicy, NegativeBalancePolicy
from schema.rewards import Reward
from schema.shared import Money
from schema.tiers import Tier


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
