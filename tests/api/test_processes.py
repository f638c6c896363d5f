"""Real `app.py serve` processes: two of them sharing Redis, and the embedded database's
lifecycle under Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from settings import Settings
from tests.support.client import GraphQLClient, transport_ws
from tests.support.operations import MEMBER_UPDATED, enroll, purchase
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.processes


@pytest.fixture(params=["binary", "mixed formats"])
def two_processes(
    request: pytest.FixtureRequest,
    settings: Settings,
    mongo_uri: str,
    redis_url: str,
    tmp_path: Path,
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two processes sharing the database and Redis. "mixed formats": the second writes its
    events in the JSON format of releases before binary events, as during a rolling deploy."""
    env = {
        "MONGODB_URI": mongo_uri,
        "MONGODB_RETRY_WRITES": "false",
        "MONGODB_DATABASE": settings.mongodb_database,
        "REDIS_URL": redis_url,
        "LOG_LEVEL": "WARNING",
        "AUTH_SECRET": settings.auth_secret.get_secret_value(),
    }
    b_env = env | ({"BUS_EVENT_FORMAT": "json"} if request.param == "mixed formats" else {})
    a = ServerProcess(env, tmp_path / "a.log")
    b = ServerProcess(b_env, tmp_path / "b.log")
    a.start()
    b.start()
    try:
        yield a, b
    finally:
        assert a.stop() == 0
        assert b.stop() == 0


async def test_a_purchase_through_one_process_reaches_a_subscriber_on_the_other(
    two_processes: tuple[ServerProcess, ServerProcess],
    http: httpx.AsyncClient,
    admin_token: str,
) -> None:
    a, b = two_processes
    for writer, reader in ((a, b), (b, a)):
        via = GraphQLClient(http, writer.url, admin_token)
        member = await enroll(via)
        async with transport_ws(reader.ws_url, admin_token) as watching:
            await watching.subscribe(MEMBER_UPDATED, {"id": member["id"]})
            await asyncio.sleep(0.3)
            started = time.monotonic()
            await purchase(via, member["id"], "12.00")
            update = (await watching.next_data())["memberUpdated"]
            elapsed = time.monotonic() - started
        assert (update["version"], update["member"]["balance"]["available"]) == (2, 12)
        assert elapsed < 5


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_serve_starts_the_embedded_database_and_stops_it_on_ctrl_c(tmp_path: Path) -> None:
    server = ServerProcess(
        {
            "MONGODB_URI": "",
            "REDIS_URL": "",
            "DATA_DIR": str(tmp_path / "data"),
            "LOG_LEVEL": "WARNING",
        },
        tmp_path / "serve.log",
    )
    server.start()
    assert server.process is not None
    children = _children(server.process.pid)
    assert children, "the embedded database runs as a child of serve"
    assert (tmp_path / "data" / "mongo").is_dir()
    assert server.stop(signal.SIGINT) == 0
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in children), "no stray database process after Ctrl-C"
