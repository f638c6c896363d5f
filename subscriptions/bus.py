"""The event bus: broadcaster's API with bounded per-subscriber queues.

A subscriber that falls behind does not grow memory: its backlog is replaced by one RESYNC
marker and it re-reads the member's latest state (a member's state is a snapshot, so the
intermediate versions can be coalesced).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from broadcaster import Broadcast, BroadcastBackend, Event
from broadcaster._backends.memory import MemoryBackend

from db.commit import Committed
from subscriptions.channels import member_channel, store_channel
from subscriptions.direct import Direct, Sleeping, fan_out
from subscriptions.events import RESYNC, Message, stamped
from subscriptions.metrics import BUS_CONNECTED, BUS_PUBLISH_FAILURES, BUS_RESYNCS
from subscriptions.redis_backend import ResilientRedisBackend
from subscriptions.redis_cluster import ClusterRedisBackend

log = logging.getLogger("bus")


class Subscription:
    """One subscriber's seat on a channel: a bounded queue of events and, while its stream is
    parked, the direct delivery the bus hands the next events to (subscriptions/direct.py).
    `last` is the last version this subscriber has been sent, by either path.

    The queue is a deque made on the first event and one future while waiting, not an
    asyncio.Queue: thousands of idle seats each carried three deques they never used."""

    __slots__ = ("_events", "_size", "_waiter", "asleep", "direct", "last")

    def __init__(self, size: int) -> None:
        self._size = size
        self._events: deque[Event] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self.direct: Direct | None = None
        self.last = 0
        # While its stream has ended to wait with no operation (a sleeping subscription,
        # subscriptions/direct.py): how to start it again, and how a resync checks whether it is
        # behind without waking it (a bus reconnect resyncs every seat; most missed nothing).
        self.asleep: Sleeping | None = None

    async def get(self) -> Event:
        """The next event, waiting for one."""
        while not self._events:
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None
        return self._events.popleft()

    def park(self, direct: Direct) -> bool:
        """Let the bus deliver straight to `direct` until something needs the stream; only
        when nothing is queued (else the stream has events to handle first)."""
        if self._events:
            return False
        self.direct = direct
        return True

    def rouse(self, event: Event) -> None:
        """Hand `event` to the seat's own stream, starting it again if it sleeps."""
        asleep, self.asleep = self.asleep, None
        self.direct = None  # its stream runs until its queue is empty again
        self.offer(event)
        if asleep is not None and asleep.wake is not None:
            wake, asleep.wake = asleep.wake, None
            try:
                wake()
            except Exception:  # the bus's listener must outlive one subscriber's failure
                log.exception("bus.wake_failed", extra={"channel": event.channel})

    def offer(self, event: Event) -> None:
        events = self._events
        if events is None:
            events = self._events = deque()
        if len(events) >= self._size:
            BUS_RESYNCS.labels(cause="overflow").inc()
            events.clear()
            event = Event(event.channel, RESYNC)
        events.append(event)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            yield await self.get()


class EventBus(Broadcast):
    def __init__(self, backend: BroadcastBackend, queue_size: int = 64) -> None:
        super().__init__(backend=backend)
        self._queue_size = queue_size
        self._open: dict[str, set[Subscription]] = {}

    @property
    def backend(self) -> BroadcastBackend:
        return self._backend

    async def _listener(self) -> None:
        while True:
            event = await self._backend.next_published()
            seats = self._open.get(event.channel)
            if not seats:
                continue
            parked: list[Subscription] = []
            waiting: list[Subscription] = []
            for seat in seats:
                (waiting if seat.direct is None else parked).append(seat)
            if parked:
                for seat in fan_out(event.message, parked):
                    asleep = seat.asleep
                    if event.message == RESYNC and asleep is not None:
                        _spawn(asleep.recheck())  # woken only if the member moved on
                    else:
                        waiting.append(seat)
            for seat in waiting:
                seat.rouse(event)

    @contextlib.asynccontextmanager
    async def subscribe(  # type: ignore[override]
        self, channel: str
    ) -> AsyncIterator[Subscription]:
        seat = await self.open(channel)
        try:
            yield seat
        finally:
            await self.close(channel, seat)

    async def open(self, channel: str) -> Subscription:
        """A seat on `channel`, held until `close`; `subscribe` for a block's length."""
        seat = Subscription(self._queue_size)
        first = channel not in self._open
        self._open.setdefault(channel, set()).add(seat)
        if first:
            try:
                await self._backend.subscribe(channel)
            except BaseException:
                await self.close(channel, seat)
                raise
        return seat

    async def close(self, channel: str, seat: Subscription) -> None:
        """Give the seat up; the process leaves the channel with its last seat. Idempotent."""
        seat.asleep = None
        holders = self._open.get(channel)
        if holders is None or seat not in holders:
            return
        holders.discard(seat)
        if not holders:
            del self._open[channel]
            with contextlib.suppress(Exception):
                await self._backend.unsubscribe(channel)

    async def publish(self, channel: str, message: Any) -> None:
        await self._backend.publish(channel, message)

    async def publish_all(self, channels: list[str], message: Message) -> bool:
        """True when every channel got the message. A failed publish never fails a write: the
        outbox relay publishes it later, and subscribers that see a version gap resync."""
        published = True
        message = stamped(message)
        for channel in channels:
            try:
                await self.publish(channel, message)
            except Exception:
                published = False
                BUS_PUBLISH_FAILURES.inc()
                log.warning("bus.publish_failed", extra={"channel": channel}, exc_info=True)
        return published

    async def ready(self) -> str | None:
        """None when the bus works, else the reason it does not."""
        backend = self._backend
        if isinstance(backend, ClusterRedisBackend):
            return await backend.ready()
        if isinstance(backend, ResilientRedisBackend):
            try:
                await asyncio.wait_for(backend.ping(), 2)
            except Exception as exc:
                return f"redis: {type(exc).__name__}"
            if not backend.connected.is_set():
                return "redis: listener reconnecting"
        return None


_RUNNING: set[asyncio.Task[None]] = set()


def _spawn(work: Coroutine[Any, Any, None]) -> None:
    task = asyncio.ensure_future(work)
    _RUNNING.add(task)  # the loop keeps only a weak reference to a task
    task.add_done_callback(_RUNNING.discard)


def channels_of(done: Committed) -> list[str]:
    channels = [member_channel(done.member.id)]
    if done.store_id:
        channels.append(store_channel(done.store_id))
    return channels


def build_bus(
    redis_url: str, queue_size: int, *, sharded: bool = False, cluster: bool = False
) -> EventBus:
    """Redis pub/sub between processes; an in-memory bus for one process without Redis."""
    if redis_url and cluster:
        return EventBus(ClusterRedisBackend(redis_url), queue_size)
    if redis_url:
        return EventBus(ResilientRedisBackend(redis_url, sharded=sharded), queue_size)
    BUS_CONNECTED.set(1)
    return EventBus(MemoryBackend("memory://"), queue_size)
