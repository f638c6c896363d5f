"""The Starlette application: routes, and the lifespan that builds and closes everything."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute

from api.graphql_view import GraphQLView
from api.health import healthz, metrics, readyz
from api.middleware import RequestIdMiddleware
from db.client import collections, connect, ensure_indexes
from db.commit import Writer
from db.reads import Reads
from loyalty.program import ProgramDef, parse_program
from resolvers.context import Services
from schema.build import build_schema
from settings import Settings
from subscriptions.bus import build_bus
from subscriptions.outbox import Outbox

log = logging.getLogger("app")

OnReady = Callable[[Services], Awaitable[None]]


def load_program(path: Path) -> ProgramDef:
    return parse_program(path.read_text(encoding="utf-8"), source=str(path))


def create_app(
    settings: Settings,
    mongo_uri: str,
    *,
    retry_writes: bool,
    on_ready: OnReady | None = None,
) -> Starlette:
    """Everything is built in the lifespan and handed down through app.state, never global."""
    program = load_program(settings.program_file)  # fail before serving on a bad file
    schema = build_schema(settings.max_query_depth)
    view = GraphQLView(
        schema,
        secret=settings.auth_secret.get_secret_value(),
        issuer=settings.auth_issuer,
        keep_alive=True,
        keep_alive_interval=15,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        client = connect(mongo_uri, retry_writes=retry_writes)
        c = collections(client[settings.mongodb_database])
        await ensure_indexes(c)
        bus = build_bus(
            settings.redis_url,
            settings.subscriber_queue_size,
            sharded=settings.redis_sharded_pubsub,
        )
        await bus.connect()
        outbox = Outbox(
            client[settings.mongodb_database],
            bus,
            grace=settings.outbox_grace_seconds,
            interval=settings.outbox_relay_interval_seconds,
            kill_after_commit=settings.test_kill_after_commit,
        )
        await outbox.start()
        services = Services(
            program=program,
            reads=Reads(c),
            writer=Writer(client, c, outbox.after_commit, stage=outbox.stage),
            bus=bus,
        )
        app.state.mongo = client
        app.state.services = services
        log.info("app.started", extra={"redis": bool(settings.redis_url)})
        try:
            if on_ready is not None:
                await on_ready(services)
            yield
        finally:
            await outbox.stop()
            await bus.disconnect()
            await client.close()
            log.info("app.stopped")

    async def to_graphiql(request: Request) -> Response:
        return RedirectResponse("/graphql")

    app = Starlette(
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
            Route("/", to_graphiql),
            Route("/graphiql", to_graphiql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ],
        middleware=[Middleware(RequestIdMiddleware)],
        lifespan=lifespan,
    )
    app.state.view = view  # api/serving.py closes its sockets on a redeploy
    return app
