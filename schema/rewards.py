"""Rewards: the catalogue's and those issued to a member."""

from __future__ import annotations

from datetime import datetime

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from db import ids
from loyalty import model
from loyalty.program import RewardDef
from loyalty.rewards import effective_status
from resolvers.context import Context
from schema.enums import Channel, IssuedRewardStatus
from schema.shared import Node, program_of
from schema.tiers import Tier


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
        return Tier(state=program_of(info).tier(tier_id)) if tier_id else None

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
        found = program_of(info).reward(self.state.reward_id)
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
