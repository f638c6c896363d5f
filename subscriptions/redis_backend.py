"""A broadcaster backend over Redis pub/sub that survives its connection dropping.

broadcaster's stock Redis backend never delivers to the first subscriber with redis-py 8
(its listener starts before the connection counts as subscribed, and exits) and stops
silently when the connection drops. This one listens only while something is subscribed,
reconnects with backoff, resubscribes every channel, and then tells each channel's
subscribers to resync (they may have missed events while it was away).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from broadcaster import BroadcastBackend, Event
from redis import asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from subscriptions.events import RESYNC, from_wire
from subscriptions.metrics import BUS_CONNECTED, BUS_RECONNECTS

log = logging.getLogger("bus.redis")

_DROPPED = (RedisConnectionError, RedisTimeoutError, OSError)
_POLL_SECONDS = 1.0
_HEALTH_CHECK_SECONDS = 5


class ResilientRedisBackend(BroadcastBackend):
    def __init__(
        self,
        url: str,
        *,
        max_backoff: float = 2.0,
        queue_size: int = 10_000,
        sharded: bool = False,
    ) -> None:
        self._url = url
        # Sharded pub/sub (Redis 7: SPUBLISH/SSUBSCRIBE): in a Redis Cluster a channel lives on
        # the shard owning its slot instead of being broadcast to every node.
        self._sharded = sharded
        self._max_backoff = max_backoff
        self._publisher: aioredis.Redis = aioredis.Redis.from_url(url, socket_timeout=5)
        # No silent retries on the listening link: a drop must surface so we can resync.
        self._listener_client: aioredis.Redis = aioredis.Redis.from_url(
            url,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=_HEALTH_CHECK_SECONDS,
            socket_keepalive=True,
        )
        self._channels: set[str] = set()
        self._pubsub: PubSub | None = None
        self._wakeup = asyncio.Event()
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.reconnects = 0

    async def connect(self) -> None:
        self._task = asyncio.create_task(self._run(), name="redis-bus-listener")

    async def disconnect(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close_pubsub()
        await self._listener_client.aclose()
        await self._publisher.aclose()
        BUS_CONNECTED.set(0)

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)
        pubsub = self._pubsub
        if pubsub is not None:
            # While Redis is away the reconnect loop resubscribes this channel.
            with contextlib.suppress(*_DROPPED):
                await self._subscribe(pubsub, channel)
        self._wakeup.set()

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)
        pubsub = self._pubsub
        if pubsub is not None:
            with contextlib.suppress(*_DROPPED):
                if self._sharded:
                    await pubsub.sunsubscribe(channel)
                else:
                    await pubsub.unsubscribe(channel)

    async def _subscribe(self, pubsub: PubSub, *channels: str) -> None:
        if self._sharded:
            await pubsub.ssubscribe(*channels)
        else:
            await pubsub.subscribe(*channels)

    async def publish(self, channel: str, message: Any) -> None:
        if self._sharded:
            await self._publisher.spublish(channel, message)
        else:
            await self._publisher.publish(channel, message)

    async def next_published(self) -> Event:
        return await self._queue.get()

    async def ping(self) -> bool:
        return bool(await self._publisher.ping())

    async def _run(self) -> None:
        backoff = 0.05
        first = True
        while True:
            try:
                await self._listen(first)
            except _DROPPED as exc:
                self.connected.clear()
                BUS_CONNECTED.set(0)
                await self._close_pubsub()
                log.warning("bus.redis.dropped", extra={"error": type(exc).__name__})
                first = False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
            else:  # pragma: no cover - _listen only returns by raising
                return
            if self.connected.is_set():
                backoff = 0.05

    async def _listen(self, first: bool) -> None:
        pubsub = self._listener_client.pubsub(ignore_subscribe_messages=True)
        await pubsub.ping()  # fails fast while Redis is away
        wanted = set(self._channels)
        if wanted:
            await self._subscribe(pubsub, *wanted)
        self._pubsub = pubsub
        late = self._channels - wanted  # subscribed while we were connecting
        if late:
            await self._subscribe(pubsub, *late)
        self.connected.set()
        BUS_CONNECTED.set(1)
        if not first:
            self.reconnects += 1
            BUS_RECONNECTS.inc()
            log.info("bus.redis.reconnected", extra={"channels": len(self._channels)})
            for channel in list(self._channels):
                self._offer(Event(channel, RESYNC))
        while True:
            if not pubsub.subscribed:
                # redis-py returns at once when nothing is subscribed: wait for a subscriber,
                # pinging now and then so a dead link is found before anyone needs it.
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), _HEALTH_CHECK_SECONDS)
                if not pubsub.subscribed:
                    await pubsub.ping()
                    await pubsub.get_message(timeout=0.01)  # the PONG
                continue
            message = await pubsub.get_message(
                ignore_subscribe_messages=True, timeout=_POLL_SECONDS
            )
            if message is not None and message.get("type") in ("message", "smessage"):
                channel = message["channel"]
                data = message["data"]
                self._offer(
                    Event(
                        channel.decode() if isinstance(channel, bytes) else channel,
                        from_wire(data),  # type: ignore[arg-type]  # bytes: binary events
                    )
                )

    def _offer(self, event: Event) -> None:
        offer_or_resync_all(self._queue, event, self._channels, "bus.redis.overflow")

    async def _close_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]


def offer_or_resync_all(
    queue: asyncio.Queue[Event], event: Event, channels: Iterable[str], overflow: str
) -> None:
    """Queue a received message; when the process cannot keep up, drop the backlog and have
    every channel resync instead (logged as `overflow`)."""
    try:
        queue.put_nowait(event)
    except asyncio.QueueFull:
        log.warning(overflow, extra={"dropped": queue.qsize()})
        while not queue.empty():
            queue.get_nowait()
        for channel in list(channels):
            queue.put_nowait(Event(channel, RESYNC))
