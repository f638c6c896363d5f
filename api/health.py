"""/healthz (the process is alive) and /readyz (its dependencies answer)."""

from __future__ import annotations

import asyncio

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from telemetry.exposition import exposition


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    services = getattr(request.app.state, "services", None)
    if services is None:
        return JSONResponse({"status": "starting"}, status_code=503)
    problems: dict[str, str] = {}
    try:
        await asyncio.wait_for(request.app.state.mongo.admin.command("ping"), 2)
    except Exception as exc:
        problems["mongodb"] = type(exc).__name__
    bus_problem = await services.bus.ready()
    if bus_problem:
        problems["bus"] = bus_problem
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ready"})


async def metrics(request: Request) -> Response:
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
