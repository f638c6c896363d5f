"""Subscription resolvers: async generators over the event bus."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from db import ids
from loyalty.errors import DomainError, ErrorCode
from resolvers import refusals
from resolvers.access import allowed
from resolvers.context import Context
from resolvers.errors import top_level
from schema.events import MemberUpdate
from schema.member import Member
from schema.points import LedgerEntry
from subscriptions import direct
from subscriptions.events import MemberEvent
from subscriptions.member_stream import member_updates

Ctx = Info[Context, None]


async def member_updated(
    info: Ctx, member_id: strawberry.ID, since_version: int | None = None
) -> AsyncGenerator[MemberUpdate, None]:
    viewer = info.context.viewer
    assert viewer is not None
    if ids.kind_of(member_id) != ids.MEMBER:
        raise top_level(DomainError(ErrorCode.NOT_FOUND, f"no member {member_id}"))
    services = info.context.services
    if not allowed(viewer, "memberUpdated", member_id, None):
        context = info.context
        raise await refusals.refuse(
            services, viewer, "memberUpdated", member_id, context.request_id, context.now
        )
    stream = member_updates(
        services.bus,
        services.stream_members.load,
        member_id,
        since_version,
        direct.current(_update_of),
        direct.ASLEEP.get(),  # set when this operation wakes a sleeping subscription
    )
    try:
        async for event in stream:
            yield _update_of(event)
            del event  # not kept while the subscriber waits (a catch-up is its own)
    except DomainError as error:
        raise top_level(error) from None
    finally:
        await stream.aclose()  # type: ignore[attr-defined]


# The subscribers of one event in this process get one MemberUpdate object, so its rendering
# is shared (api/shared_render.py). Keyed by the event's id, holding the event so the id stays
# its own while cached.
_UPDATES: OrderedDict[int, tuple[MemberEvent, MemberUpdate]] = OrderedDict()
_UPDATES_CACHED = 512


def _update_of(event: MemberEvent) -> MemberUpdate:
    hit = _UPDATES.get(id(event))
    if hit is not None and hit[0] is event:
        return hit[1]
    update = MemberUpdate(
        member_id=strawberry.ID(event.member_id),
        version=event.version,
        changes=list(event.changes),
        member=Member(state=event.member),
        entry=LedgerEntry(state=event.entry) if event.entry else None,
        coalesced=event.coalesced,
    )
    if not event.coalesced:  # a catch-up is one subscriber's own
        _UPDATES[id(event)] = (event, update)
        if len(_UPDATES) > _UPDATES_CACHED:
            _UPDATES.popitem(last=False)
    return update
