"""The life of a socket on a real `app.py serve` process: a dead one is found by ping and freed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from settings import Settings
from tests.api.test_delivery_faults import process_env, serving
from tests.support.client import GraphQLClient, transport_ws
from tests.support.operations import MEMBER_UPDATED, enroll

pytestmark = pytest.mark.processes


async def _open_subscriptions(http: httpx.AsyncClient, url: str, want: float) -> float:
    """subscriptions_open once it equals `want`, or its value after 10 s."""
    value = -1.0
    for _ in range(100):
        text = (await http.get(f"{url}/metrics")).text
        value = next(
            float(line.split()[1])
            for line in text.splitlines()
            if line.startswith("subscriptions_open ")
        )
        if value == want:
            break
        await asyncio.sleep(0.1)
    return value


async def test_a_socket_that_stops_answering_pings_is_closed_and_its_subscription_freed(
    settings: Settings,
    mongo_uri: str,
    redis_url: str,
    http: httpx.AsyncClient,
    admin_token: str,
    tmp_path: Path,
) -> None:
    env = process_env(
        settings,
        mongo_uri,
        redis_url,
        WS_PING_INTERVAL_SECONDS="0.5",
        WS_PING_TIMEOUT_SECONDS="0.5",
    )
    with serving(env, tmp_path / "serve.log") as server:
        member = await enroll(GraphQLClient(http, server.url, admin_token))
        async with transport_ws(server.ws_url, admin_token) as ws:
            await ws.subscribe(MEMBER_UPDATED, {"id": member["id"]})
            assert await _open_subscriptions(http, server.url, 1) == 1
            # A live client answers pings: still open after several intervals.
            await asyncio.sleep(2)
            assert await _open_subscriptions(http, server.url, 1) == 1
            # A phone gone silent: its side reads nothing more, so no pong goes back.
            ws.ws.transport.pause_reading()
            assert await _open_subscriptions(http, server.url, 0) == 0
            ws.ws.transport.abort()  # no close handshake to wait for on a paused reader
