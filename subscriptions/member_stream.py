"""memberUpdated: every change of one member, in version order, never going back.

The stream subscribes first and reads the member second, so a change committed in between is
either in the read or on the channel. Events at or below the last version sent are dropped; a
version gap, a bus reconnect or an overflowed queue makes it re-read the member and send the
current state as one catch-up whose `changes` are the union of the kinds it stands for.

A merged member's stream follows its survivor: when the merged member's last event (its
tombstone) arrives, or the id asked for is already a tombstone, the subscriber gets one message
with MERGED carrying the survivor's id and state, and from then on the survivor's changes.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

from broadcaster import Event

from loyalty.errors import DomainError, ErrorCode
from loyalty.model import Member
from subscriptions.bus import EventBus, Subscription
from subscriptions.channels import member_channel
from subscriptions.direct import Direct, Sleep, Sleeping
from subscriptions.events import RESYNC, MemberEvent, catch_up, decode_shared, merged_into
from subscriptions.metrics import BUS_DELIVERY_LAG, BUS_RESYNCS, SUBSCRIPTIONS_OPEN

LoadMember = Callable[[str], Awaitable[Member | None]]


MAX_FOLLOWS = 8  # a survivor merged in turn, and so on


async def member_updates(
    bus: EventBus,
    load: LoadMember,
    member_id: str,
    since_version: int | None,
    direct: Direct | None = None,
    asleep: Sleeping | None = None,
) -> AsyncIterator[MemberEvent]:
    """`direct`: how the bus may deliver live events straight to this subscriber's socket
    while the stream waits with nothing queued (subscriptions/direct.py). `asleep`: the
    subscription this stream carries on, woken (its seat, its last version, whom it follows)."""
    following, since = member_id, since_version
    if asleep is not None:
        asleep.taken = True
        following = asleep.member_id
    for _ in range(MAX_FOLLOWS):
        survivor_id = None
        async for event in _one_member(bus, load, following, since, direct, asleep):
            if event.member.merged_into is not None:
                survivor_id = event.member.merged_into
                break
            yield event
            del event  # a catch-up is this subscriber's own: not kept while it waits
        if survivor_id is None:
            return
        asleep = None
        survivor = await load(survivor_id)
        if survivor is None:
            raise DomainError(ErrorCode.NOT_FOUND, f"no member {survivor_id}")
        yield merged_into(survivor)
        following, since = survivor.id, survivor.version
    raise DomainError(ErrorCode.NOT_FOUND, f"{member_id} leads through too many merges")


async def _one_member(
    bus: EventBus,
    load: LoadMember,
    member_id: str,
    since_version: int | None,
    direct: Direct | None,
    asleep: Sleeping | None = None,
) -> AsyncIterator[MemberEvent]:
    channel = member_channel(member_id)
    if asleep is not None:
        seat = asleep.seat  # still on the bus since the subscription fell asleep
    else:
        seat = await bus.open(channel)
        SUBSCRIPTIONS_OPEN.inc()
    sleeping = False
    try:
        if asleep is None:
            current = await load(member_id)
            if current is None:
                raise DomainError(ErrorCode.NOT_FOUND, f"no member {member_id}")
            seat.last = current.version
            if current.merged_into is not None or (
                since_version is not None and current.version > since_version
            ):
                yield catch_up(current, since_version or 0)
            # A subscriber waits for hours: its frame keeps no member it no longer needs
            # (about 3 KiB decoded), only the seat and the version.
            current = None
        elif direct is not None:
            await direct.outlet.settle()  # its last direct write goes out before ours
        while True:
            # Parked, the bus sends the plain next versions itself and advances seat.last;
            # it wakes this stream (unparked) with whatever else comes.
            parked = direct is not None and seat.park(direct)
            if parked and direct is not None and direct.outlet.may_sleep:
                sleeping = True
                seat.asleep = _Asleep(member_id, seat, bus, channel, load)
                raise Sleep(seat.asleep)
            event = await seat.get()
            if parked and direct is not None:
                await direct.outlet.settle()  # its last direct write goes out before ours
            if event.message == RESYNC:
                BUS_RESYNCS.labels(cause="bus").inc()
                fresh = await _fresher(load, member_id, seat.last)
            else:
                update = decode_shared(event.message)
                if update.version <= seat.last:
                    continue
                if update.version == seat.last + 1:
                    seat.last = update.version
                    if update.published_at is not None:
                        BUS_DELIVERY_LAG.observe(max(0.0, time.time() - update.published_at))
                    yield update
                    continue
                BUS_RESYNCS.labels(cause="gap").inc()
                fresh = await _fresher(load, member_id, seat.last)
            if fresh is not None:
                since, seat.last = seat.last, fresh.version
                yield catch_up(fresh, since)
                fresh = None
    finally:
        if not sleeping:
            await _release(bus, channel, seat)


async def _release(bus: EventBus, channel: str, seat: Subscription) -> None:
    SUBSCRIPTIONS_OPEN.dec()
    await bus.close(channel, seat)


class _Asleep(Sleeping):
    __slots__ = ("_bus", "_channel", "_load")

    def __init__(
        self, member_id: str, seat: Subscription, bus: EventBus, channel: str, load: LoadMember
    ) -> None:
        super().__init__(member_id, seat)
        self._bus = bus
        self._channel = channel
        self._load = load

    async def release(self) -> None:
        # Nothing wakes a released seat: dropping `wake` also breaks the cycle through it (its
        # partial holds this object), so a closed socket is freed without a full collection.
        uncount, self.uncount, self.wake = self.uncount, None, None
        if uncount is not None:
            uncount()
        await _release(self._bus, self._channel, self.seat)

    async def recheck(self) -> None:
        """What the stream would do first on a resync, without starting it."""
        try:
            behind = await _fresher(self._load, self.member_id, self.seat.last) is not None
        except Exception:
            behind = True  # the stream reads again, and reports it if that fails too
        if behind:  # it missed a version: the stream sends the catch-up (and counts the resync)
            self.seat.rouse(Event(self._channel, RESYNC))
        else:
            BUS_RESYNCS.labels(cause="bus").inc()


async def _fresher(load: LoadMember, member_id: str, last: int) -> Member | None:
    member = await load(member_id)
    return member if member is not None and member.version > last else None
