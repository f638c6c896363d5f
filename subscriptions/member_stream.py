"""memberUpdated: every change of one member, in version order, never going back.

The stream subscribes first and reads the member second, so a change committed in between is
either in the read or on the channel. Events at or below the last version sent are dropped; a
version gap, a bus reconnect or an overflowed queue makes it re-read the member and send the
current state as one catch-up whose `changes` are the union of the kinds it stands for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from loyalty.errors import DomainError, ErrorCode
from loyalty.model import Member
from subscriptions.bus import EventBus
from subscriptions.channels import member_channel
from subscriptions.events import RESYNC, MemberEvent, catch_up, decode_shared
from subscriptions.metrics import BUS_RESYNCS, SUBSCRIPTIONS_OPEN

LoadMember = Callable[[str], Awaitable[Member | None]]


async def member_updates(
    bus: EventBus, load: LoadMember, member_id: str, since_version: int | None
) -> AsyncIterator[MemberEvent]:
    async with bus.subscribe(member_channel(member_id)) as events:
        SUBSCRIPTIONS_OPEN.inc()
        try:
            current = await load(member_id)
            if current is None:
                raise DomainError(ErrorCode.NOT_FOUND, f"no member {member_id}")
            last = current.version
            if since_version is not None and current.version > since_version:
                yield catch_up(current, since_version)
            async for event in events:
                if event.message == RESYNC:
                    BUS_RESYNCS.labels(cause="bus").inc()
                    fresh = await _fresher(load, member_id, last)
                else:
                    update = decode_shared(event.message)
                    if update.version <= last:
                        continue
                    if update.version == last + 1:
                        last = update.version
                        yield update
                        continue
                    BUS_RESYNCS.labels(cause="gap").inc()
                    fresh = await _fresher(load, member_id, last)
                if fresh is not None:
                    yield catch_up(fresh, last)
                    last = fresh.version
        finally:
            SUBSCRIPTIONS_OPEN.dec()


async def _fresher(load: LoadMember, member_id: str, last: int) -> Member | None:
    member = await load(member_id)
    return member if member is not None and member.version > last else None
