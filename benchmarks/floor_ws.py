"""The floor of the delivery benchmark: a bare Starlette WebSocket server under the same uvicorn.

It accepts sockets and, for every message on the Redis channel `floor`, sends those bytes to
every socket, one after the other: the least any server must do to push one message to N
sockets from one Python process.

    python benchmarks/floor_ws.py PORT REDIS_URL
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import sys
from collections.abc import AsyncIterator

import uvicorn
from redis import asyncio as aioredis
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

CHANNEL = "floor"


def build(redis_url: str) -> Starlette:
    sockets: set[WebSocket] = set()

    async def relay() -> None:
        redis = aioredis.Redis.from_url(redis_url)
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(CHANNEL)
        async for message in pubsub.listen():
            if message["type"] != "message":
                continue
            text = message["data"].decode()
            for websocket in list(sockets):
                with contextlib.suppress(Exception):
                    await websocket.send_text(text)

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        sockets.add(websocket)
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            sockets.discard(websocket)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(relay())
        # the same GC treatment as the API (GC_FREEZE, GC_THRESHOLD0), so the comparison is fair
        gc.set_threshold(10_000, *gc.get_threshold()[1:])
        gc.collect()
        gc.freeze()
        yield
        task.cancel()

    return Starlette(routes=[WebSocketRoute("/ws", endpoint)], lifespan=lifespan)


if __name__ == "__main__":
    port, redis_url = int(sys.argv[1]), sys.argv[2]
    # the API's uvicorn options that matter for sending (WS_PER_MESSAGE_DEFLATE defaults to off)
    deflate = os.environ.get("WS_PER_MESSAGE_DEFLATE", "false").lower() == "true"
    uvicorn.run(
        build(redis_url),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws_per_message_deflate=deflate,
    )
