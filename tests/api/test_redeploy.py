"""Redeploys and worker processes, with real `app.py serve` processes sharing Mongo and Redis."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import asyncio as aioredis
from websockets.exceptions import ConnectionClosed

from settings import Settings
from tests.api.test_delivery_faults import metric, process_env, serving, strictly_increasing
from tests.support.client import GraphQLClient, TransportWsClient, transport_ws
from tests.support.operations import MEMBER_UPDATED, PURCHASE, enroll, purchase
from tests.support.servers import ServerProcess
from tests.support.workers import worker_pids

pytestmark = pytest.mark.processes

MEMBER_VERSION = "query V($id: ID!) { member(id: $id) { version balance { available } } }"


class Till:
    """Buys through whichever server is up; a failed attempt is retried elsewhere with the
    same idempotency key, as a till behind a load balancer would."""

    def __init__(self, http: httpx.AsyncClient, token: str, servers: list[ServerProcess]) -> None:
        self.http = http
        self.token = token
        self.servers = servers
        self.bought = 0
        self.turn = 0

    async def buy(self, member_id: str) -> dict[str, Any]:
        key = uuid.uuid4().hex
        payload = {
            "memberId": member_id,
            "amount": "1.00",
            "currencyCode": "EUR",
            "channel": "POS",
            "storeId": "store-001",
            "orderId": f"o-{key[:10]}",
            "idempotencyKey": key,
        }
        for _ in range(50):
            self.turn += 1
            server = self.servers[self.turn % len(self.servers)]
            try:
                client = GraphQLClient(self.http, server.url, self.token)
                data = await client.data(PURCHASE, {"input": payload})
            except (httpx.HTTPError, OSError):
                await asyncio.sleep(0.05)
                continue
            result: dict[str, Any] = data["recordPurchase"]
            assert result["userErrors"] == [], result
            self.bought += 1
            return result
        raise AssertionError("no server took the purchase")


async def test_a_rolling_restart_of_both_processes_loses_no_update(
    settings: Settings,
    mongo_uri: str,
    redis_url: str,
    http: httpx.AsyncClient,
    admin_token: str,
    tmp_path: Path,
) -> None:
    env = process_env(settings, mongo_uri, redis_url)
    a = ServerProcess(env, tmp_path / "a.log")
    b = ServerProcess(env, tmp_path / "b.log")
    a.start()
    b.start()
    started = [a, b]
    try:
        member = await enroll(GraphQLClient(http, a.url, admin_token))
        till = Till(http, admin_token, [a, b])
        seen: list[dict[str, Any]] = []
        close_codes: list[int | None] = []
        stop_buying = asyncio.Event()

        async def buy_all_along() -> None:
            while not stop_buying.is_set():
                await till.buy(member["id"])
                await asyncio.sleep(0.02)

        async def watch(server: ServerProcess) -> None:
            """One screen's connection: until the server goes away, or a version is reached."""
            since = seen[-1]["version"] if seen else 1
            async with transport_ws(server.ws_url, admin_token) as ws:
                await ws.subscribe(MEMBER_UPDATED, {"id": member["id"], "since": since})
                try:
                    while True:
                        seen.append((await ws.next_data(30))["memberUpdated"])
                except ConnectionClosed:
                    close_codes.append(ws.ws.close_code)

        buying = asyncio.create_task(buy_all_along())
        screen = asyncio.create_task(watch(a))
        await asyncio.sleep(1.0)
        # roll a: SIGTERM it while purchases go on; the screen moves to b
        assert a.stop(signal.SIGTERM) == 0
        await asyncio.wait_for(screen, 15)
        till.servers = [b]
        screen = asyncio.create_task(watch(b))
        a2 = ServerProcess(env, tmp_path / "a2.log")
        a2.start()
        started.append(a2)
        till.servers = [a2, b]
        await asyncio.sleep(1.0)
        # roll b: the screen moves to the new a
        assert b.stop(signal.SIGTERM) == 0
        await asyncio.wait_for(screen, 15)
        till.servers = [a2]
        screen = asyncio.create_task(watch(a2))
        await asyncio.sleep(1.0)
        stop_buying.set()
        await buying
        final = await GraphQLClient(http, a2.url, admin_token).data(
            MEMBER_VERSION, {"id": member["id"]}
        )
        version = final["member"]["version"]
        for _ in range(300):  # the last pushes may still be on their way
            if seen and seen[-1]["version"] >= version:
                break
            await asyncio.sleep(0.05)
        screen.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await screen
    finally:
        for server in started:
            server.stop()
    assert close_codes == [1001, 1001]
    # every purchase took effect exactly once, although some were retried on another process
    assert version == 1 + till.bought
    assert till.bought > 10
    assert strictly_increasing(seen), [u["version"] for u in seen]
    assert seen[-1]["version"] == version
    for before, after in itertools.pairwise(seen):
        assert after["version"] == before["version"] + 1 or after["coalesced"]


async def _numsub(redis_url: str, channel: str) -> int:
    redis = aioredis.Redis.from_url(redis_url)
    try:
        counts = await redis.pubsub_numsub(channel)
        return int(counts[0][1])
    finally:
        await redis.aclose()


@contextlib.asynccontextmanager
async def _screens(
    url: str, token: str, member_id: str, count: int
) -> AsyncIterator[list[TransportWsClient]]:
    """`count` sockets, each with a memberUpdated subscription open on the member."""
    async with contextlib.AsyncExitStack() as stack:
        screens = [await stack.enter_async_context(transport_ws(url, token)) for _ in range(count)]
        for ws in screens:
            await ws.subscribe(MEMBER_UPDATED, {"id": member_id})
        await asyncio.sleep(0.5)
        yield screens


async def test_worker_processes_share_sockets_with_one_channel_subscription_each(
    settings: Settings,
    mongo_uri: str,
    redis_url: str,
    http: httpx.AsyncClient,
    admin_token: str,
    tmp_path: Path,
) -> None:
    env = process_env(settings, mongo_uri, redis_url, WORKERS="2")
    with serving(env, tmp_path / "workers.log") as server:
        client = GraphQLClient(http, server.url, admin_token)
        member = await enroll(client)
        channel = f"member:{member['id']}"
        async with _screens(server.ws_url, admin_token, member["id"], 16) as screens:
            # 16 sockets spread over two workers: one Redis subscription per worker, not per socket
            assert await _numsub(redis_url, channel) == 2
            bought = await purchase(client, member["id"], "4.00")
            assert bought["userErrors"] == []
            for ws in screens:
                assert (await ws.next_data())["memberUpdated"]["version"] == 2
        # the last subscriber of each worker left: both released the channel
        for _ in range(50):
            if await _numsub(redis_url, channel) == 0:
                break
            await asyncio.sleep(0.1)
        assert await _numsub(redis_url, channel) == 0


async def _scrape(server: ServerProcess, name: str) -> float:
    """`metric` over a new connection: with SO_REUSEPORT a new connection may reach either
    worker."""
    async with httpx.AsyncClient(timeout=10) as fresh:
        return await metric(fresh, server, name)


async def _alive(ws: TransportWsClient) -> bool:
    try:
        await asyncio.wait_for(await ws.ws.ping(), 5)
    except (ConnectionClosed, TimeoutError):
        return False
    return True


async def test_metrics_of_any_worker_count_every_worker(
    settings: Settings,
    mongo_uri: str,
    redis_url: str,
    http: httpx.AsyncClient,
    admin_token: str,
    tmp_path: Path,
) -> None:
    env = process_env(settings, mongo_uri, redis_url, WORKERS="2")
    with serving(env, tmp_path / "workers.log") as server:
        assert server.process is not None
        member = await enroll(GraphQLClient(http, server.url, admin_token))
        channel = f"member:{member['id']}"
        async with _screens(server.ws_url, admin_token, member["id"], 16) as screens:
            assert await _numsub(redis_url, channel) == 2  # both workers hold some of them
            for _ in range(8):
                assert await _scrape(server, "subscriptions_open") == 16
                assert await _scrape(server, "websockets_open") == 16
            staged = await _scrape(server, "outbox_staged_total")  # the enrolment's
            for _ in range(4):
                async with httpx.AsyncClient(timeout=30) as fresh:
                    bought = await purchase(
                        GraphQLClient(fresh, server.url, admin_token), member["id"], "4.00"
                    )
                    assert bought["userErrors"] == []
            for _ in range(8):
                assert await _scrape(server, "outbox_staged_total") == staged + 4

            # A worker dies: its sockets no longer count, the replacement's do.
            workers = worker_pids(server.process.pid)
            assert len(workers) == 2
            os.kill(workers[0], signal.SIGKILL)
            survivors = [ws for ws in screens if await _alive(ws)]
            assert 0 < len(survivors) < 16
            for _ in range(100):
                if len(worker_pids(server.process.pid)) == 2:
                    break
                await asyncio.sleep(0.1)
            for _ in range(8):
                assert await _scrape(server, "subscriptions_open") == len(survivors)
            # a dead worker's counters still count
            assert await _scrape(server, "outbox_staged_total") == staged + 4
        for _ in range(50):
            if await _scrape(server, "subscriptions_open") == 0:
                break
            await asyncio.sleep(0.1)
        assert await _scrape(server, "subscriptions_open") == 0
