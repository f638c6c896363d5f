"""The TypeScript client example of docs/clients.md, compiled by `make check-examples`, run on
Node against the API: it reads the member, subscribes from that version and prints each state."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest

from tests.support.client import GraphQLClient
from tests.support.operations import enroll, purchase
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
