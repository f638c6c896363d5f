"""The member and its parts: profile, identifiers, consents, challenge progress."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from loyalty import masking, model
from loyalty.challenges import current as challenge_state
from loyalty.decisions import actions, churn, outcomes
from loyalty.rewards import effective_status, is_eligible
from resolvers.access import masks_personal_data
from resolvers.context import Context
from schema.decisions import DecisionContext, NextBestAction
from schema.enums import Channel, IdentifierKind, IssuedRewardStatus
from schema.points import (
    MAX_PAGE,
    LedgerEntry,
    LedgerEntryConnection,
    LedgerEntryEdge,
    PointsBalance,
    decode_cursor,
    encode_cursor,
)
from schema.rewards import IssuedReward, Reward
from schema.shared import Node, PageInfo, program_of
from schema.tiers import TierStatus


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


@strawberry.type(description="The member's progress in a challenge.")
class ChallengeProgress:
    challenge_id: strawberry.ID
    name: str
    progress: int
    goal: int
    completed: bool
    reward_points: int


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
        program = program_of(info)
        return [
            Reward(state=r) for r in program.rewards if is_eligible(self.state, r, channel, program)
        ]

    @strawberry.field(description="Every challenge of the program, in its current period.")
    def challenges(self, info: Info[Context, None]) -> list[ChallengeProgress]:
        now = info.context.now
        shown = []
        for challenge in program_of(info).challenges:
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
        return churn.score(self.state, program_of(info).decisions.churn, info.context.now).risk

    @strawberry.field(description="The factors behind churnRisk, in plain words.")
    def churn_factors(self, info: Info[Context, None]) -> list[str]:
        scored = churn.score(self.state, program_of(info).decisions.churn, info.context.now)
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
        program = program_of(info)
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
