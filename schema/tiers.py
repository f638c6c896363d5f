"""The program's tiers and where a member stands among them."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from loyalty import model
from loyalty.program import TierDef
from loyalty.tiers import TierProgress, progress_of, qualifying_at
from resolvers.context import Context
from schema.shared import program_of


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
        return Tier(state=program_of(info).tier(self.state.tier_id))

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
        return Tier(state=program_of(info).tier(tier_id)) if tier_id else None

    def _progress(self, info: Info[Context, None]) -> TierProgress:
        return self._work_out(info)[1]

    def _work_out(self, info: Info[Context, None]) -> tuple[int, TierProgress]:
        if self.worked_out is None:
            program = program_of(info)
            points = qualifying_at(self.state, info.context.now, program)
            progress = progress_of(points, program.tier(self.state.tier_id), program)
            self.worked_out = (points, progress)
        return self.worked_out
