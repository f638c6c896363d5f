"""WebSocket clients of the delivery benchmark, run in processes of their own.

A client process opens one socket per entry of its member list, against the API
(graphql-transport-ws, one memberUpdated subscription per socket; "api-connected": the
connection acknowledged, no subscription) or against the floor server (raw sockets), records
the arrival time (CLOCK_MONOTONIC, comparable across processes on Linux) and version of every
message. Like a browser, a client sends no WebSocket pings of its own (the websockets
library's default is one every 20 s per socket: 500 a second to the server at 10,000 sockets);
the server's pings find dead sockets. It answers its parent's commands over a pipe:
"report" -> the records and notes since the last report; "quit" -> close everything and exit.
A note says why a socket stopped receiving, or a message that was not a `next`.
"""

from __future__ import annotations

import asyncio
import json
import resource
import time
from multiprocessing.connection import Connection
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

SUBSCRIPTION = """subscription Watch($id: ID!) { memberUpdated(memberId: $id) {
  memberId version changes coalesced
  member { version balance { available pending } tier { current { id name } pointsToNext } }
  entry { kind points }
} }"""

# (socket index, member id, version, coalesced, arrival time)
Record = tuple[int, str, int, bool, float]
# (socket index, what happened): a close, an error or complete message, a failed read
Note = tuple[int, str]


async def _open_api(url: str, token: str, member_id: str, subscribe: bool) -> ClientConnection:
    ws = await connect(
        url,
        subprotocols=[Subprotocol("graphql-transport-ws")],
        max_queue=None,
        ping_interval=None,
    )
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    )
    ack = json.loads(await ws.recv())
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"no ack: {ack}")
    if not subscribe:
        return ws
    await ws.send(
        json.dumps(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": SUBSCRIPTION, "variables": {"id": member_id}},
            }
        )
    )
    return ws


async def _read(
    ws: ClientConnection, index: int, out: list[Record], notes: list[Note], closing: list[bool]
) -> None:
    try:
        async for raw in ws:
            now = time.monotonic()
            message = json.loads(raw)
            kind = message.get("type")
            if kind in ("ping", "pong"):
                continue
            if kind != "next":
                notes.append((index, f"{kind}: {json.dumps(message.get('payload'))[:200]}"))
                continue
            update = message["payload"]["data"]["memberUpdated"]
            out.append((index, update["memberId"], update["version"], update["coalesced"], now))
        if not closing:
            notes.append((index, f"closed by the server: {ws.close_code} {ws.close_reason}"))
    except asyncio.CancelledError:
        raise
    except Exception as error:
        if not closing:
            notes.append((index, f"read failed: {type(error).__name__}: {error}"[:300]))


async def _run(conn: Connection, mode: str, url: str, token: str, members: list[str]) -> None:
    records: list[Record] = []
    notes: list[Note] = []
    closing: list[bool] = []  # non-empty once the parent said quit
    sockets: list[ClientConnection] = []
    tasks: list[asyncio.Task[None]] = []
    for start in range(0, len(members), 200):  # connect in batches
        batch = members[start : start + 200]
        if mode in ("api", "api-connected"):
            subscribe = mode == "api"
            opened = await asyncio.gather(*(_open_api(url, token, m, subscribe) for m in batch))
        else:
            opened = await asyncio.gather(
                # raw sockets on the floor
                *(connect(url, max_queue=None, ping_interval=None) for _ in batch)
            )
        for offset, ws in enumerate(opened):
            index = start + offset
            sockets.append(ws)
            tasks.append(asyncio.create_task(_read(ws, index, records, notes, closing)))
    conn.send(("ready", len(sockets)))
    while True:
        command = await asyncio.to_thread(conn.recv)
        if command == "report":
            taken, records[:] = list(records), []
            noted, notes[:] = list(notes), []
            conn.send((taken, noted))
        elif command == "quit":
            closing.append(True)
            break
    for task in tasks:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    conn.send("bye")


def client_main(conn: Connection, mode: str, url: str, token: str, members: list[str]) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop

        uvloop.run(_run(conn, mode, url, token, members))
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        asyncio.run(_run(conn, mode, url, token, members))


def decode_report(raw: Any) -> tuple[list[Record], list[Note]]:
    records, notes = raw
    return [tuple(r) for r in records], [tuple(n) for n in notes]  # type: ignore[misc]
