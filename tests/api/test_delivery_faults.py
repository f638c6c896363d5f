"""Delivery under faults, with real `app.py serve` processes: a writer killed between commit and
publish, and a Redis outage while purchases go on."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from settings import Settings
from tests.support.client import GraphQLClient, TransportWsClient, transport_ws
from tests.support.operations import MEMBER_UPDATED, enroll, purchase
from tests.support.servers import InProcessServer, RedisProcess, ServerProcess, redis_process

pytestmark = pytest.mark.processes

MEMBER_VERSION = "query V($id: ID!) { member(id: $id) { version balance { available } } }"


def process_env(settings: Settings, mongo_uri: str, redis_url: str, **extra: str) -> dict[str, str]:
    return {
        "MONGODB_URI": mongo_uri,
        "MONGODB_RETRY_WRITES": "false",
        "MONGODB_DATABASE": settings.mongodb_database,
        "REDIS_URL": redis_url,
        "LOG_LEVEL": "WARNING",
        "AUTH_SECRET": settings.auth_secret.get_secret_value(),
        "OUTBOX_GRACE_SECONDS": "0.5",
        "OUTBOX_RELAY_INTERVAL_SECONDS": "0.2",
        **extra,
    }


@contextlib.contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(env, log)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def metric(http: httpx.AsyncClient, server: ServerProcess, name: str) -> float:
    """The sum of a Prometheus metric's samples (over its labels)."""
    text = (await http.get(f"{server.url}/metrics")).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def updates_until(
    ws: TransportWsClient, version: int, timeout: float = 30
) -> list[dict[str, Any]]:
    """memberUpdated messages until one at `version` (or later) arrives."""
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while not got or got[-1]["version"] < version:
            got.append((await ws.next_data(timeout))["memberUpdated"])
    return got


def strictly_increasing(updates: list[dict[str, Any]]) -> bool:
    versions = [u["version"] for u in updates]
    return all(a < b for a, b in itertools.pairwise(versions))


async def test_a_change_committed_by_a_process_killed_before_publishing_still_arrives(
    settings: Settings,
    mongo_uri: str,
    redis_url: str,
    http: httpx.AsyncClient,
    admin_token: str,
    tmp_path: Path,
) -> None:
    env = process_env(settings, mongo_uri, redis_url)
    with (
        serving(env, tmp_path / "watcher.log") as watcher,
        serving({**env, "TEST_KILL_AFTER_COMMIT": "true"}, tmp_path / "doomed.log") as doomed,
    ):
        via_watcher = GraphQLClient(http, watcher.url, admin_token)
        member = await enroll(via_watcher)
        async with transport_ws(watcher.ws_url, admin_token) as ws:
            await ws.subscribe(MEMBER_UPDATED, {"id": member["id"]})
            await asyncio.sleep(0.3)
            with pytest.raises(httpx.HTTPError):  # the writer dies before it can answer
                await purchase(GraphQLClient(http, doomed.url, admin_token), member["id"], "30.00")
            assert doomed.process is not None
            assert doomed.process.wait(10) == -signal.SIGKILL
            # the change did commit ...
            read = (await via_watcher.data(MEMBER_VERSION, {"id": member["id"]}))["member"]
            assert (read["version"], read["balance"]["available"]) == (2, 30)
            # ... and the outbox relay of the surviving process publishes it
            update = (await ws.next_data(15))["memberUpdated"]
        assert (update["version"], update["coalesced"]) == (2, False)
        assert update["entry"] == {"kind": "EARN", "points": 30}
        assert await metric(http, watcher, "outbox_relayed_total") >= 1


async def test_a_redis_outage_loses_nothing_and_every_subscriber_catches_up_in_order(
    settings: Settings,
    mongo_uri: str,
    http: httpx.AsyncClient,
    admin_token: str,
    tmp_path: Path,
) -> None:
    outage_seconds = 10.0
    with redis_process() as redis:
        env = process_env(settings, mongo_uri, redis.url)
        with serving(env, tmp_path / "a.log") as a, serving(env, tmp_path / "b.log") as b:
            via_a = GraphQLClient(http, a.url, admin_token)
            members = [await enroll(via_a) for _ in range(3)]
            async with contextlib.AsyncExitStack() as stack:
                watchers = []
                for server in (a, b):  # each member watched on both processes
                    for m in members:
                        ws = await stack.enter_async_context(
                            transport_ws(server.ws_url, admin_token)
                        )
                        await ws.subscribe(MEMBER_UPDATED, {"id": m["id"]})
                        watchers.append((m["id"], ws))
                await asyncio.sleep(0.5)
                for m in members:
                    await purchase(via_a, m["id"], "1.00")
                redis.stop()
                # purchases go on through both processes while Redis is away
                versions = {m["id"]: 2 for m in members}
                deadline = asyncio.get_running_loop().time() + outage_seconds
                turn = 0
                while asyncio.get_running_loop().time() < deadline:
                    m = members[turn % len(members)]
                    via = GraphQLClient(http, (a, b)[turn % 2].url, admin_token)
                    done = await purchase(via, m["id"], "2.00")
                    assert done["userErrors"] == []
                    versions[m["id"]] = done["member"]["version"]
                    read = (await via.data(MEMBER_VERSION, {"id": m["id"]}))["member"]
                    assert read["version"] == versions[m["id"]]
                    turn += 1
                    await asyncio.sleep(0.2)
                restarted = RedisProcess()
                restarted.port = redis.port
                restarted.start()
                try:
                    for member_id, ws in watchers:
                        got = await updates_until(ws, versions[member_id])
                        assert got[0]["version"] == 2
                        assert strictly_increasing(got), [u["version"] for u in got]
                        assert got[-1]["version"] == versions[member_id]
                        # a coalesced catch-up stands for the versions it skips
                        for before, after in itertools.pairwise(got):
                            skipped = after["version"] - before["version"] > 1
                            assert not skipped or after["coalesced"]
                    for server in (a, b):
                        assert await metric(http, server, "bus_reconnects_total") >= 1
                        assert await metric(http, server, "bus_resyncs_total") >= 1
                    # and delivery goes on as usual afterwards
                    m = members[0]
                    await purchase(via_a, m["id"], "3.00")
                    for member_id, ws in watchers:
                        if member_id == m["id"]:
                            latest = await updates_until(ws, versions[member_id] + 1)
                            assert [u["version"] for u in latest] == [versions[member_id] + 1]
                finally:
                    restarted.stop()


async def test_a_published_change_leaves_no_outbox_row_behind(
    client: GraphQLClient, server: InProcessServer, settings: Settings
) -> None:
    member = await enroll(client)
    await purchase(client, member["id"], "5.00")
    rows = server.app.state.mongo[settings.mongodb_database]["outbox"]
    ids = [f"{member['id']}:1", f"{member['id']}:2"]
    left = -1
    for _ in range(100):  # the deletes are batched every 0.1 s
        left = await rows.count_documents({"_id": {"$in": ids}})
        if left == 0:
            break
        await asyncio.sleep(0.05)
    assert left == 0
