"""One primary of a Redis Cluster, as the bus sees it: a client to publish with and a pub/sub
connection listening to the shard channels the primary serves.

Kept like ResilientRedisBackend keeps its one connection: no silent retries, so a drop surfaces;
reconnect with backoff, resubscribe, and tell the subscribers of every channel it held to resync
once the node has processed the resubscription. A channel the node refuses (MOVED) or gives up
(Redis sends SUNSUBSCRIBE when it moves the slot away) goes back to the backend to be placed on
its new owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Iterable
from typing import Any, Protocol

from broadcaster import Event
from redis import asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.backoff import NoBackoff
from redis.exceptions import AskError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from subscriptions.cluster_map import channel_slot
from subscriptions.events import RESYNC, from_wire
from subscriptions.metrics import BUS_RECONNECTS

log = logging.getLogger("bus.redis.cluster")

_DROPPED = (RedisConnectionError, RedisTimeoutError, OSError)
_POLL_SECONDS = 1.0
_HEALTH_CHECK_SECONDS = 5
_FIRST_BACKOFF = 0.05
_BARRIER = "bus-barrier:"


class Hub(Protocol):
    """What a node link reports to the backend that owns it."""

    def offer(self, event: Event) -> None: ...

    def link_changed(self) -> None: ...

    def link_dropped(self) -> None: ...

    def link_reconnected(self) -> None: ...

    def misplaced(self, link: NodeLink, channels: Iterable[str]) -> None: ...


class NodeLink:
    """One primary: a client to publish with and a pub/sub connection listening to its shard
    channels, with no silent retries so that a drop surfaces and ends in a resync."""

    def __init__(self, address: str, url: str, hub: Hub, *, max_backoff: float) -> None:
        self.address = address
        self.channels: set[str] = set()
        self.connected = False
        # One immediate retry: after a node restart the pooled connection is dead, a new one works.
        self.publisher: aioredis.Redis = aioredis.Redis.from_url(
            url, socket_timeout=5, socket_connect_timeout=2, retry=Retry(NoBackoff(), 1)
        )
        self._listener: aioredis.Redis = aioredis.Redis.from_url(
            url,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=_HEALTH_CHECK_SECONDS,
            socket_keepalive=True,
            socket_connect_timeout=2,
        )
        self._hub = hub
        self._max_backoff = max_backoff
        self._pubsub: PubSub | None = None
        self._task: asyncio.Task[None] | None = None
        # Channels to resync once the node answers the barrier PING sent after their SSUBSCRIBE:
        # a node handles one connection's commands in order, so by then they are subscribed.
        self._barriers = itertools.count(1)
        self._resync_at: dict[str, int] = {}

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"redis-cluster-link {self.address}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close_pubsub()
        await self._listener.aclose()
        await self.publisher.aclose()

    async def add(self, channel: str, *, resync: bool = False) -> None:
        """Subscribe to `channel`; with `resync`, its subscribers resync once it is subscribed."""
        self.channels.add(channel)
        pubsub = self._pubsub
        if pubsub is None:
            if resync:
                self._resync_at[channel] = 0  # when the link (re)connects
            return
        with contextlib.suppress(*_DROPPED):
            await pubsub.ssubscribe(channel)
            if resync:
                barrier = next(self._barriers)
                self._resync_at[channel] = barrier
                await pubsub.ping(f"{_BARRIER}{barrier}")

    async def remove(self, channel: str) -> None:
        self.channels.discard(channel)
        self._resync_at.pop(channel, None)
        pubsub = self._pubsub
        if pubsub is not None:
            with contextlib.suppress(*_DROPPED):
                await pubsub.sunsubscribe(channel)

    def forget(self, channels: Iterable[str]) -> None:
        """Drop channels the node no longer serves, without telling the node."""
        for channel in channels:
            self.channels.discard(channel)
            self._resync_at.pop(channel, None)

    async def _run(self) -> None:
        backoff = _FIRST_BACKOFF
        first = True
        while True:
            try:
                await self._listen(first)
            except Exception as exc:
                if not isinstance(exc, (*_DROPPED, ResponseError)):
                    # Not a network fault: say so loudly, but keep the link alive all the same.
                    log.exception("bus.redis.cluster.link_failed", extra={"node": self.address})
                if self.connected:
                    backoff = _FIRST_BACKOFF  # it worked until now: try again soon
                    log.warning(
                        "bus.redis.cluster.dropped",
                        extra={"node": self.address, "error": type(exc).__name__},
                    )
                self.connected = False
                await self._close_pubsub()
                self._hub.link_dropped()
                first = False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)

    async def _listen(self, first: bool) -> None:
        pubsub = self._listener.pubsub()
        try:
            await pubsub.ping()  # fails fast while the node is away
            wanted = set(self.channels)
            # One SSUBSCRIBE per channel: channels of different slots in one call are CROSSSLOT.
            for channel in wanted:
                await pubsub.ssubscribe(channel)
        except BaseException:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            raise
        self._pubsub = pubsub
        for channel in self.channels - wanted:  # added while we were connecting
            await pubsub.ssubscribe(channel)
        for channel in wanted - self.channels:  # removed meanwhile
            await pubsub.sunsubscribe(channel)
        if not first:
            # Everything it holds may have missed events while the node was away.
            self._resync_at = dict.fromkeys(self.channels, 0)
        if self._resync_at:
            barrier = next(self._barriers)
            self._resync_at = dict.fromkeys(self._resync_at, barrier)
            await pubsub.ping(f"{_BARRIER}{barrier}")
        self.connected = True
        self._hub.link_changed()
        if not first:
            BUS_RECONNECTS.inc()
            self._hub.link_reconnected()
            log.info(
                "bus.redis.cluster.reconnected",
                extra={"node": self.address, "channels": len(self.channels)},
            )
        while True:
            try:
                message = await pubsub.get_message(timeout=_POLL_SECONDS)
            except AskError as exc:
                # MOVED/ASK to an SSUBSCRIBE: the slot has another owner than our map says.
                self._misplace(c for c in list(self.channels) if channel_slot(c) == exc.slot_id)
                continue
            if message is not None:
                self._handle(message)

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        channel = _text(message.get("channel"))
        if kind == "smessage":
            # broadcaster types the message as text; binary events are bytes
            self._hub.offer(Event(channel, from_wire(message["data"])))  # type: ignore[arg-type]
        elif kind == "sunsubscribe" and channel in self.channels:
            # Not asked for by us: Redis moved the channel's slot to another node.
            self._misplace([channel])
        elif kind == "pong":
            data = _text(message.get("data"))
            if data.startswith(_BARRIER):
                self._passed(int(data.removeprefix(_BARRIER)))

    def _passed(self, barrier: int) -> None:
        done = [c for c, at in self._resync_at.items() if at <= barrier]
        for channel in done:
            del self._resync_at[channel]
            if channel in self.channels:
                self._hub.offer(Event(channel, RESYNC))

    def _misplace(self, channels: Iterable[str]) -> None:
        moved = list(channels)
        if moved:
            self.forget(moved)
            self._hub.misplaced(self, moved)

    async def _close_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
