"""The bus over a real Redis Cluster of three primaries (tests/support/cluster.py): sharded
pub/sub on the node owning each channel's slot, node restarts, slot moves."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from broadcaster import Event
from prometheus_client import REGISTRY
from redis.exceptions import ConnectionError as RedisConnectionError

from subscriptions.bus import EventBus, Subscription
from subscriptions.channels import member_channel
from subscriptions.events import RESYNC
from subscriptions.redis_cluster import ClusterRedisBackend
from tests.support.cluster import ClusterNode, LocalCluster


def _member() -> str:
    return member_channel(uuid.uuid4().hex)


@asynccontextmanager
async def _bus(cluster: LocalCluster, queue_size: int = 200) -> AsyncIterator[EventBus]:
    backend = ClusterRedisBackend(cluster.url, max_backoff=0.2)
    bus = EventBus(backend, queue_size)
    await bus.connect()
    try:
        await asyncio.wait_for(backend.connected.wait(), 10)
        yield bus
    finally:
        await bus.disconnect()


def _backend(bus: EventBus) -> ClusterRedisBackend:
    backend = bus.backend
    assert isinstance(backend, ClusterRedisBackend)
    return backend


async def _until(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    """Waits for something the cluster does asynchronously (gossip, a reconnect)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.05)


async def _subscribed(node: ClusterNode, channel: str, count: int = 1) -> None:
    await _until(
        lambda: node.shard_subscribers(channel) == count,
        f"{count} shard subscription(s) on {node.address}",
    )


def _reconnects() -> float:
    return REGISTRY.get_sample_value("bus_reconnects_total") or 0.0


async def _next(subscription: Subscription) -> Event:
    event = await asyncio.wait_for(subscription.get(), 10)
    assert event is not None
    return event


async def test_members_on_different_nodes_each_receive_their_events(
    redis_cluster: LocalCluster,
) -> None:
    channels = {node.port: redis_cluster.channel_on(node, _member) for node in redis_cluster.nodes}
    first, second, third = channels.values()
    async with (
        _bus(redis_cluster) as a,
        _bus(redis_cluster) as b,
        a.subscribe(first) as s0,
        a.subscribe(second) as s1,
        a.subscribe(third) as s2,
    ):
        for node in redis_cluster.nodes:
            # Each channel is subscribed on the node owning its slot, and only there.
            await _subscribed(node, channels[node.port])
            others = [n for n in redis_cluster.nodes if n is not node]
            assert all(n.shard_subscribers(channels[node.port]) == 0 for n in others)
        for channel in channels.values():
            await b.publish(channel, f"for {channel}")
        got = {c: await _next(s) for c, s in zip((first, second, third), (s0, s1, s2), strict=True)}
    assert {c: (e.channel, e.message) for c, e in got.items()} == {
        c: (c, f"for {c}") for c in channels.values()
    }


async def test_a_subscriber_on_bus_a_receives_in_order_what_bus_b_published(
    redis_cluster: LocalCluster,
) -> None:
    channel = _member()
    async with (
        _bus(redis_cluster) as a,
        _bus(redis_cluster) as b,
        a.subscribe(channel) as subscription,
    ):
        await _subscribed(redis_cluster.owner(channel), channel)
        for n in range(100):
            await b.publish(channel, str(n))
        got = [(await _next(subscription)).message for _ in range(100)]
    assert got == [str(n) for n in range(100)]


async def test_a_restarted_node_resyncs_its_channels_and_loses_no_version_after(
    redis_cluster: LocalCluster,
) -> None:
    victim = redis_cluster.nodes[1]
    bystander = redis_cluster.nodes[2]
    on_victim = redis_cluster.channel_on(victim, _member)
    on_bystander = redis_cluster.channel_on(bystander, _member)
    reconnects_before = _reconnects()
    async with _bus(redis_cluster) as a, _bus(redis_cluster) as b:
        backend = _backend(a)
        async with a.subscribe(on_victim) as hit, a.subscribe(on_bystander) as spared:
            await _subscribed(victim, on_victim)
            await _subscribed(bystander, on_bystander)
            victim.stop()
            try:
                await _until(lambda: not backend.connected.is_set(), "the drop noticed")
                # The other primaries go on carrying their members' events meanwhile.
                await b.publish(on_bystander, "during")
                assert (await _next(spared)).message == "during"
                # What goes to the stopped node fails; the writer never depends on it.
                with pytest.raises(RedisConnectionError):
                    await b.publish(on_victim, "lost")
            finally:
                victim.start()
            resync = await _next(hit)
            assert resync.message == RESYNC
            assert backend.reconnects == 1
            # Bus B's link to that node came back too: one reconnect each, in the metric.
            await _until(lambda: _backend(b).reconnects == 1, "bus B reconnected")
            assert _reconnects() == reconnects_before + 2
            # After the resync every version arrives, in order.
            for version in range(1, 21):
                await b.publish(on_victim, f"v{version}")
            assert [(await _next(hit)).message for _ in range(20)] == [
                f"v{v}" for v in range(1, 21)
            ]
            # Only the channels of the node that dropped were told to resync.
            await b.publish(on_bystander, "after")
            assert (await _next(spared)).message == "after"
    redis_cluster.wait_ok()


async def test_unsubscribe_releases_the_channel_on_its_node(redis_cluster: LocalCluster) -> None:
    channel = _member()
    owner = redis_cluster.owner(channel)
    async with _bus(redis_cluster) as bus:
        async with bus.subscribe(channel) as first, bus.subscribe(channel):
            await _subscribed(owner, channel)
            # two subscribers in the process, one shard subscription on the node
            assert owner.shard_subscribers(channel) == 1
            await bus.publish(channel, "hello")
            assert (await _next(first)).message == "hello"
        await _subscribed(owner, channel, 0)
        assert channel not in _backend(bus).nodes[owner.address].channels


def _move_slot(cluster: LocalCluster, slot: int, source: ClusterNode, target: ClusterNode) -> None:
    """CLUSTER SETSLOT ... NODE on every node: an empty slot changes owner at once."""
    target.cli("cluster", "setslot", str(slot), "importing", source.node_id())
    source.cli("cluster", "setslot", str(slot), "migrating", target.node_id())
    for node in (target, source, *(n for n in cluster.nodes if n not in (source, target))):
        node.cli("cluster", "setslot", str(slot), "node", target.node_id())


async def test_a_slot_moved_to_another_node_takes_its_subscription_along(
    redis_cluster: LocalCluster,
) -> None:
    source, target = redis_cluster.nodes[0], redis_cluster.nodes[2]
    channel = redis_cluster.channel_on(source, _member)
    slot = int(source.cli("cluster", "keyslot", channel))
    async with (
        _bus(redis_cluster) as a,
        _bus(redis_cluster) as b,
        a.subscribe(channel) as subscription,
    ):
        await _subscribed(source, channel)
        _move_slot(redis_cluster, slot, source, target)
        try:
            # Redis drops the subscription on the old owner (SUNSUBSCRIBE); the bus finds
            # the new owner, subscribes there and has the subscribers resync.
            assert (await _next(subscription)).message == RESYNC
            assert target.shard_subscribers(channel) == 1
            assert source.shard_subscribers(channel) == 0
            # Bus B still maps the slot to the old owner: MOVED, a fresh map, delivered.
            await b.publish(channel, "moved")
            assert (await _next(subscription)).message == "moved"
        finally:
            _move_slot(redis_cluster, slot, target, source)
    redis_cluster.wait_ok()


async def test_the_bus_is_ready_while_a_primary_answers(redis_cluster: LocalCluster) -> None:
    async with _bus(redis_cluster) as bus:
        assert await bus.ready() is None
