"""Query resolvers. Unknown or malformed ids read as null, never an error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from db import ids
from db.reads import stats_figures
from loyalty import duplicates
from loyalty.errors import DomainError, ErrorCode
from loyalty.identity import normalise
from loyalty.model import IdentifierKind
from loyalty.stats import stats
from resolvers import refusals
from resolvers.access import allowed
from resolvers.context import Context
from resolvers.errors import forbidden, top_level
from schema.identity import DuplicateCandidate
from schema.member import Member
from schema.points import LedgerEntry
from schema.program import Program, ProgramStats
from schema.rewards import IssuedReward, Reward
from schema.shared import Money, Node

MAX_STATS_DAYS = 3660

Ctx = Info[Context, None]


def check(info: Ctx, operation: str, member_id: str | None = None) -> None:
    viewer = info.context.viewer
    assert viewer is not None
    if not allowed(viewer, operation, member_id, None):
        raise forbidden()


async def _member(info: Ctx, member_id: str, operation: str) -> Member | None:
    if ids.kind_of(member_id) != ids.MEMBER:
        return None
    found = await info.context.services.reads.follow(
        await info.context.loaders.member.load(member_id)
    )
    if found is None:
        return None
    viewer = info.context.viewer
    assert viewer is not None
    # A merged member's id leads to its survivor; a token of the merged member still reads
    # the person it now is.
    target = member_id if viewer.member_id == member_id else found.id
    if not allowed(viewer, operation, target, None):
        context = info.context
        raise await refusals.refuse(
            context.services, viewer, operation, found.id, context.request_id, context.now
        )
    return Member(state=found)


async def viewer(info: Ctx) -> Member | None:
    check(info, "viewer")
    member_id = info.context.viewer.member_id if info.context.viewer else None
    return await _member(info, member_id, "viewer") if member_id else None


async def member(info: Ctx, id: strawberry.ID) -> Member | None:
    check(info, "member")
    return await _member(info, id, "member")


async def member_by_identifier(info: Ctx, kind: IdentifierKind, value: str) -> Member | None:
    check(info, "memberByIdentifier")
    try:
        clean = normalise(kind, value, info.context.services.program.default_phone_region, ())
    except DomainError:
        return None  # a value that cannot be an identifier belongs to nobody
    member_id = await info.context.services.reads.member_id_by_identifier(kind, clean)
    return await _member(info, member_id, "memberByIdentifier") if member_id else None


async def node(info: Ctx, id: strawberry.ID) -> Node | None:
    check(info, "node")
    kind = ids.kind_of(id)
    reads = info.context.services.reads
    if kind == ids.MEMBER:
        return await _member(info, id, "node")
    if kind == ids.REWARD:
        slug = ids.reward_slug(id)
        reward = info.context.services.program.reward(slug) if slug else None
        return Reward(state=reward) if reward else None
    if kind == ids.ENTRY:
        entry = (await reads.entries([id])).get(id)
        if entry is None or await _member(info, entry.member_id, "node") is None:
            return None
        return LedgerEntry(state=entry)
    if kind == ids.ISSUED:
        issued = await reads.issued_reward(id)
        if issued is None or await _member(info, issued.member_id, "node") is None:
            return None
        return IssuedReward(state=issued)
    return None


def program(info: Ctx) -> Program:
    check(info, "program")
    return Program(state=info.context.services.program)


MAX_CANDIDATES = 50
# Rows read to rank from: every match of a real person is a handful; a key shared by hundreds
# (a shop's own test address) must not make the query unbounded.
CANDIDATE_SCAN = 500


async def duplicate_candidates(
    info: Ctx, member_id: strawberry.ID, first: int = 20
) -> list[DuplicateCandidate]:
    check(info, "duplicateCandidates")
    if not 1 <= first <= MAX_CANDIDATES:
        raise top_level(
            DomainError(ErrorCode.INVALID_INPUT, f"first must be 1 to {MAX_CANDIDATES}", ("first",))
        )
    found = await _member(info, member_id, "duplicateCandidates")
    if found is None:
        return []
    keys = [k.stored() for k in duplicates.match_keys(found.state)]
    others = await info.context.services.reads.members_sharing(keys, CANDIDATE_SCAN)
    ranked = duplicates.candidates(found.state, others)[:first]
    loaded = await info.context.loaders.member.load_many([c.member_id for c in ranked])
    return [
        DuplicateCandidate(member=Member(state=m), reasons=list(c.reasons))
        for c, m in zip(ranked, loaded, strict=True)
        if m is not None
    ]


async def program_stats(
    info: Ctx, period_start: datetime | None = None, period_end: datetime | None = None
) -> ProgramStats:
    """KPIs for admins; the period defaults to the 30 days up to now."""
    check(info, "programStats")
    end = (period_end or info.context.now).astimezone(UTC)
    start = (period_start or end - timedelta(days=30)).astimezone(UTC)
    if start >= end or end - start > timedelta(days=MAX_STATS_DAYS):
        raise GraphQLError(
            f"periodStart must be before periodEnd, at most {MAX_STATS_DAYS} days apart",
            extensions={"code": "INVALID_INPUT"},
        )
    services = info.context.services
    figures = await stats_figures(services.reads.collections, start, end)
    kpi = stats(figures, start, end, services.program)
    return ProgramStats(
        period_start=kpi.start,
        period_end=kpi.end,
        members=kpi.members,
        active_members_30d=kpi.active_30d,
        active_members_90d=kpi.active_90d,
        points_issued=kpi.issued,
        points_redeemed=kpi.redeemed,
        points_expired=kpi.expired,
        points_reversed=kpi.reversed,
        points_outstanding=kpi.outstanding,
        redemption_rate=kpi.redemption_rate,
        outstanding_liability=Money(
            amount=str(kpi.liability), currency_code=services.program.currency
        ),
    )
