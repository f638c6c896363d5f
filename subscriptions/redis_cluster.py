"""A broadcaster backend over a Redis Cluster: sharded pub/sub with one link per primary.

redis-py 8.1's asyncio ClusterPubSub reads every node's connection in one round robin: a
message waits up to (nodes - 1) x the poll timeout behind idle nodes, a dead node makes every
read raise, and a restarted node is resubscribed silently, so what was published meanwhile is
lost without a word. Here each primary gets a link of its own (subscriptions/cluster_link.py)
that notices drops, reconnects and resyncs. A channel is published to and subscribed on the
primary owning its slot; the slot map (CLUSTER SHARDS) is read again when a link drops, when a
node answers MOVED, and when Redis moves a slot away; a channel whose owner changed moves to
the new owner's link and resyncs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from broadcaster import BroadcastBackend, Event
from redis import asyncio as aioredis
from redis.backoff import NoBackoff
from redis.exceptions import AskError, ClusterDownError, RedisError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

from subscriptions.cluster_link import NodeLink
from subscriptions.cluster_map import (
    SlotMap,
    channel_slot,
    node_url,
    seed_address,
    slot_map_from_shards,
)
from subscriptions.metrics import BUS_CLUSTER_NODES_DOWN, BUS_CONNECTED
from subscriptions.redis_backend import offer_or_resync_all

log = logging.getLogger("bus.redis.cluster")

_FIRST_BACKOFF = 0.05
# However many links report trouble at once, the map is read at most this often.
_MAP_READ_SPACING = 0.1


class ClusterRedisBackend(BroadcastBackend):
    """SPUBLISH to the primary owning a channel's slot; SSUBSCRIBE on that primary's link."""

    def __init__(self, url: str, *, max_backoff: float = 2.0, queue_size: int = 10_000) -> None:
        self._url = url
        self._tls = urlsplit(url).scheme == "rediss"
        self._max_backoff = max_backoff
        # Where the map is read first; afterwards any primary of the map will do.
        self._seed: aioredis.Redis = aioredis.Redis.from_url(
            node_url(url, seed_address(url)),
            socket_timeout=5,
            socket_connect_timeout=2,
            retry=Retry(NoBackoff(), 0),
        )
        self._map: SlotMap | None = None
        self._map_reads = 0
        self._links: dict[str, NodeLink] = {}
        self._placed: dict[str, NodeLink] = {}  # channel -> the link subscribed to it
        self._channels: set[str] = set()
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=queue_size)
        self._placing = asyncio.Lock()
        self._reading = asyncio.Lock()
        self._stale = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.reconnects = 0

    @property
    def nodes(self) -> dict[str, NodeLink]:
        """The link of each primary, by "host:port"."""
        return dict(self._links)

    async def connect(self) -> None:
        self._stale.set()
        self._task = asyncio.create_task(self._keep_map(), name="redis-cluster-map")

    async def disconnect(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for link in list(self._links.values()):
            await link.close()
        self._links.clear()
        self._placed.clear()
        await self._seed.aclose()
        self.connected.clear()
        BUS_CONNECTED.set(0)
        BUS_CLUSTER_NODES_DOWN.set(0)

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)
        async with self._placing:
            if channel not in self._channels or channel in self._placed:
                return
            link = self._owner(channel)
            if link is None:
                self._stale.set()  # placed, and resynced, once the map is known
                return
            self._placed[channel] = link
            await link.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)
        async with self._placing:
            if channel in self._channels:
                return  # subscribed again while this waited
            link = self._placed.pop(channel, None)
            if link is not None:
                await link.remove(channel)

    async def publish(self, channel: str, message: Any) -> None:
        for attempt in range(2):
            seen = self._map_reads
            link = self._owner(channel)
            if link is None:
                await self._read_map(unless_read_since=seen)
                link = self._owner(channel)
                if link is None:
                    raise ClusterDownError(f"no primary serves slot {channel_slot(channel)}")
            try:
                await link.publisher.spublish(channel, message)
                return
            except AskError:
                if attempt:
                    raise
                await self._read_map(unless_read_since=seen)

    async def next_published(self) -> Event:
        return await self._queue.get()

    async def ping(self) -> bool:
        """True when some primary answers: the others' channels resync when theirs is back."""
        if self._map is None:
            await self._read_map()
        answers = await asyncio.gather(
            *(link.publisher.ping() for link in list(self._links.values())),
            return_exceptions=True,
        )
        return any(answer is True for answer in answers)

    async def ready(self) -> str | None:
        """None while the cluster can carry events, else why not. One primary away is not a
        reason: only its channels wait (and resync when it is back)."""
        try:
            if await asyncio.wait_for(self.ping(), 2):
                return None
            return "redis cluster: no primary answers"
        except Exception as exc:
            return f"redis cluster: {type(exc).__name__}"

    # What the links report (cluster_link.Hub).

    def offer(self, event: Event) -> None:
        offer_or_resync_all(self._queue, event, self._channels, "bus.redis.cluster.overflow")

    def link_changed(self) -> None:
        down = sum(not link.connected for link in self._links.values())
        BUS_CLUSTER_NODES_DOWN.set(down)
        if self._map is not None and self._links and not down:
            self.connected.set()
            BUS_CONNECTED.set(1)
        else:
            self.connected.clear()
            BUS_CONNECTED.set(0)

    def link_dropped(self) -> None:
        """A link lost its node, or failed to reach it again."""
        self.link_changed()
        self._stale.set()  # the slots may have a new owner (a replica took over)

    def link_reconnected(self) -> None:
        self.reconnects += 1

    def misplaced(self, link: NodeLink, channels: Iterable[str]) -> None:
        for channel in channels:
            if self._placed.get(channel) is link:
                del self._placed[channel]
        self._stale.set()

    # The slot map.

    def _owner(self, channel: str) -> NodeLink | None:
        owner = self._map.owner(channel) if self._map is not None else None
        return self._links.get(owner) if owner else None

    async def _keep_map(self) -> None:
        """Reads the map whenever it may be stale, and places the channels it has no link for."""
        backoff = _FIRST_BACKOFF
        while True:
            await self._stale.wait()
            self._stale.clear()
            try:
                await self._read_map()
            except Exception as exc:
                if not isinstance(exc, (RedisError, OSError)):
                    log.exception("bus.redis.cluster.map_failed")
                log.warning("bus.redis.cluster.map_unreadable", extra={"error": type(exc).__name__})
                self._stale.set()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            if self._channels - self._placed.keys():
                # Some slot has no owner right now (resharding, a failed primary): ask again.
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                self._stale.set()
            else:
                backoff = _FIRST_BACKOFF
                await asyncio.sleep(_MAP_READ_SPACING)

    async def _read_map(self, unless_read_since: int | None = None) -> None:
        async with self._reading:
            if unless_read_since is not None and self._map_reads != unless_read_since:
                return  # another caller read it while this one waited
            fresh = await self._fetch_map()
            await self._apply(fresh)
            self._map_reads += 1

    async def _fetch_map(self) -> SlotMap:
        links = sorted(self._links.values(), key=lambda link: not link.connected)
        error: Exception = RedisConnectionError("no node of the cluster is known")
        for client in [*(link.publisher for link in links), self._seed]:
            try:
                shards = await client.cluster("SHARDS")
            except (RedisError, OSError) as exc:
                error = exc
                continue
            return slot_map_from_shards(shards, tls=self._tls)
        raise error

    async def _apply(self, fresh: SlotMap) -> None:
        """Links for new primaries; channels whose owner changed move, then resync."""
        self._map = fresh
        for address in fresh.primaries - self._links.keys():
            link = NodeLink(
                address, node_url(self._url, address), self, max_backoff=self._max_backoff
            )
            self._links[address] = link
            link.start()
        moved = 0
        async with self._placing:
            for channel in list(self._channels):
                want, have = self._owner(channel), self._placed.get(channel)
                if want is have:
                    continue
                # Links report misplaced channels while this awaits: change the index first.
                self._placed.pop(channel, None)
                if have is not None:
                    await have.remove(channel)
                if want is not None:
                    self._placed[channel] = want
                    await want.add(channel, resync=True)
                    moved += 1
            for address, link in list(self._links.items()):
                if address not in fresh.primaries and not link.channels:
                    del self._links[address]
                    await link.close()
        self.link_changed()
        if moved:
            log.info("bus.redis.cluster.moved", extra={"channels": moved})
