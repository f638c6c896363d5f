"""The TypeScript client example of docs/clients.md, compiled by `make check-examples`, run on
Node against the API: it reads the member, subscribes from that version and prints each state."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest

from tests.support.client import GraphQLClient
from tests.support.operations import enroll, purchase
from tests.support.proxy import CuttableProxy
from tests.support.servers import ROOT, InProcessServer

SCRIPT = ROOT / "docs" / "examples" / "dist" / "run-example.js"


@pytest.mark.skipif(
    shutil.which("node") is None or not SCRIPT.exists(),
    reason="client example: node or the compiled example is missing (make check-examples)",
)
async def test_the_typescript_example_reads_then_follows_the_member(
    server: InProcessServer, client: GraphQLClient, admin_token: str
) -> None:
    member = await enroll(client)
    await purchase(client, member["id"], "20.00")
    node = await asyncio.create_subprocess_exec(
        "node",
        str(SCRIPT),
        server.url,
        admin_token,
        member["id"],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert node.stdout is not None
    try:
        first = json.loads(await asyncio.wait_for(node.stdout.readline(), 15))
        assert first == {"version": 2, "available": 20, "changes": []}
        # The subscription starts from version 2: a purchase made now is the next line, whether
        # it lands before or after the server has the stream open.
        await purchase(client, member["id"], "7.00")
        second = json.loads(await asyncio.wait_for(node.stdout.readline(), 15))
        assert second["version"] == 3 and second["available"] == 27
        assert "POINTS_EARNED" in second["changes"]
    finally:
        node.terminate()
        await node.wait()


@pytest.mark.skipif(
    shutil.which("node") is None or not SCRIPT.exists(),
    reason="client example: node or the compiled example is missing (make check-examples)",
)
async def test_the_typescript_example_resumes_after_the_connection_drops(
    server: InProcessServer, client: GraphQLClient, admin_token: str
) -> None:
    """The socket is cut while a purchase happens: the example reconnects, subscribes again from
    the last version it showed, and shows the missed change once, then the next one."""
    member = await enroll(client)
    proxy = CuttableProxy(server.port)
    await proxy.start()
    node = await asyncio.create_subprocess_exec(
        "node",
        str(SCRIPT),
        f"http://127.0.0.1:{proxy.port}",
        admin_token,
        member["id"],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert node.stdout is not None

    async def line() -> dict[str, object]:
        assert node.stdout is not None
        parsed: dict[str, object] = json.loads(await asyncio.wait_for(node.stdout.readline(), 15))
        return parsed

    try:
        assert (await line())["version"] == 1
        await purchase(client, member["id"], "3.00")
        assert (await line())["version"] == 2
        before = proxy.connections
        proxy.cut()
        await purchase(client, member["id"], "4.00")  # while the example is offline
        missed = await line()
        assert missed["version"] == 3 and missed["available"] == 7
        assert proxy.connections > before  # it came back over a new connection
        await purchase(client, member["id"], "5.00")
        assert (await line())["version"] == 4
    finally:
        node.terminate()
        await node.wait()
        await proxy.stop()
