"""Our Redis backend behind broadcaster's API, against real redis-server processes."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from subscriptions.bus import EventBus
from subscriptions.events import RESYNC
from subscriptions.redis_backend import ResilientRedisBackend
from tests.support.servers import RedisProcess, redis_process


async def _wait_connected(backend: ResilientRedisBackend) -> None:
    await asyncio.wait_for(backend.connected.wait(), 10)


async def test_the_first_subscriber_receives_the_first_message(redis_url: str) -> None:
    """broadcaster's stock backend loses exactly this case with redis-py 8."""
    backend = ResilientRedisBackend(redis_url)
    bus = EventBus(backend)
    await bus.connect()
    try:
        await _wait_connected(backend)
        channel = f"member:{uuid.uuid4().hex}"
        async with bus.subscribe(channel) as subscription:
            await asyncio.sleep(0.1)
            await bus.publish(channel, "hello")
            event = await asyncio.wait_for(subscription.get(), 5)
        assert event is not None and (event.channel, event.message) == (channel, "hello")
    finally:
        await bus.disconnect()


@pytest.mark.parametrize("sharded", [False, True], ids=["classic", "sharded"])
async def test_messages_published_by_another_client_arrive_in_order(
    redis_url: str, sharded: bool
) -> None:
    bus = EventBus(ResilientRedisBackend(redis_url, sharded=sharded), queue_size=200)
    await bus.connect()
    publisher = aioredis.Redis.from_url(redis_url)
    try:
        channel = f"member:{uuid.uuid4().hex}"
        async with bus.subscribe(channel) as subscription:
            await asyncio.sleep(0.1)
            for n in range(100):
                if sharded:
                    await publisher.spublish(channel, str(n))
                else:
                    await publisher.publish(channel, str(n))
            got = [(await asyncio.wait_for(subscription.get(), 5)) for _ in range(100)]
        assert [e.message for e in got if e is not None] == [str(n) for n in range(100)]
    finally:
        await publisher.aclose()
        await bus.disconnect()


@pytest.mark.parametrize("sharded", [False, True], ids=["classic", "sharded"])
async def test_a_redis_restart_resubscribes_and_tells_subscribers_to_resync(sharded: bool) -> None:
    with redis_process() as redis:
        backend = ResilientRedisBackend(redis.url, max_backoff=0.2, sharded=sharded)
        bus = EventBus(backend)
        await bus.connect()
        try:
            await _wait_connected(backend)
            channel = f"member:{uuid.uuid4().hex}"
            async with bus.subscribe(channel) as subscription:
                await asyncio.sleep(0.1)
                redis.stop()
                await asyncio.sleep(0.5)
                assert not backend.connected.is_set()
                # publishing while Redis is away fails; the writer must not depend on it
                with pytest.raises(RedisConnectionError):
                    await bus.publish(channel, "lost")
                restarted = RedisProcess()
                restarted.port = redis.port
                restarted.start()
                try:
                    resync = await asyncio.wait_for(subscription.get(), 10)
                    assert resync is not None and resync.message == RESYNC
                    assert backend.reconnects == 1
                    await bus.publish(channel, "after")
                    event = await asyncio.wait_for(subscription.get(), 5)
                    assert event is not None and event.message == "after"
                finally:
                    restarted.stop()
        finally:
            await bus.disconnect()


async def test_a_slow_subscriber_gets_one_resync_instead_of_a_growing_queue(redis_url: str) -> None:
    bus = EventBus(ResilientRedisBackend(redis_url), queue_size=4)
    await bus.connect()
    try:
        channel = f"member:{uuid.uuid4().hex}"
        async with bus.subscribe(channel) as subscription:
            await asyncio.sleep(0.1)
            for n in range(50):
                await bus.publish(channel, str(n))
            await asyncio.sleep(0.5)  # the subscriber reads nothing meanwhile
            first = await asyncio.wait_for(subscription.get(), 5)
            assert first is not None and first.message == RESYNC
            # after the marker only what came after the overflow is left, at most the bound
            left = 0
            while True:
                try:
                    await asyncio.wait_for(subscription.get(), 0.2)
                    left += 1
                except TimeoutError:
                    break
            assert left < 4
    finally:
        await bus.disconnect()


async def test_sharded_mode_uses_shard_channels_and_releases_them(redis_url: str) -> None:
    bus = EventBus(ResilientRedisBackend(redis_url, sharded=True))
    await bus.connect()
    admin = aioredis.Redis.from_url(redis_url)
    try:
        channel = f"member:{uuid.uuid4().hex}"

        async def counts() -> tuple[int, int]:
            classic = (await admin.pubsub_numsub(channel))[0][1]
            shard = (await admin.execute_command("PUBSUB", "SHARDNUMSUB", channel))[1]  # type: ignore[no-untyped-call]
            return int(classic), int(shard)

        async with bus.subscribe(channel) as first, bus.subscribe(channel):
            await asyncio.sleep(0.2)
            assert await counts() == (0, 1)  # one shard subscription for two subscribers
            await bus.publish(channel, "hello")
            event = await asyncio.wait_for(first.get(), 5)
            assert event is not None and event.message == "hello"
        await asyncio.sleep(0.2)
        assert await counts() == (0, 0)
    finally:
        await admin.aclose()
        await bus.disconnect()
