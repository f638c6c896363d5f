"""The Starlette application: routes, and the lifespan that builds and closes everything."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp

from api.auth import TokenVerifier
from api.graphql_view import GraphQLView
from api.health import healthz, metrics, readyz
from api.limits import BodySizeLimit, RateLimiter, RateLimitGate
from api.middleware import RequestIdMiddleware
from api.socket_path import SocketFastPath
from api.telemetry import RequestTelemetry
from api.transport import GraphQLTransport
from api.web import web_routes
from db import crypto
from db.batch import supports_one_command
from db.client import collections, connect, ensure_indexes
from db.commit import Writer
from db.jobs import JobRunner, running
from db.notifications import Notifications
from db.reads import Reads
from loyalty.decisions import journeys
from loyalty.decisions.observe import observe
from loyalty.model import Member
from loyalty.program import ProgramDef, parse_program
from loyalty.schedule import due_at
from resolvers.context import Services, utc_now
from schema.build import build_schema
from settings import Settings
from subscriptions.bus import build_bus
from subscriptions.notices import NoticePublisher
from subscriptions.outbox import Outbox
from telemetry.db import register_command_metrics
from telemetry.tracing import tracing_extension

log = logging.getLogger("app")

OnReady = Callable[[Services], Awaitable[None]]

MAX_BATCH = 10  # operations in one batched POST


# GRAPHIQL=false removes these pages (the POS page and assets stay).
GRAPHIQL_PATHS = frozenset({"/", "/graphiql"})


def load_program(path: Path) -> ProgramDef:
    return parse_program(path.read_text(encoding="utf-8"), source=str(path))


def scheduled(member: Member, program: ProgramDef) -> datetime | None:
    """The points jobs' due time, or earlier when a journey falls due by time alone."""
    times = [t for t in (due_at(member, program), journeys.due_at(member, program)) if t]
    return min(times) if times else None


def create_app(
    settings: Settings,
    mongo_uri: str,
    *,
    retry_writes: bool,
    on_ready: OnReady | None = None,
) -> Starlette:
    """Everything is built in the lifespan and handed down through app.state, never global."""
    program = load_program(settings.program_file)  # fail before serving on a bad file
    # Process-wide like logging: every document, event and idempotency record is encoded with it.
    crypto.configure(
        crypto.PersonalDataCipher.of(
            settings.encryption_key_list, settings.lookup_key.get_secret_value()
        )
    )
    schema = build_schema(settings.max_query_depth, introspection=settings.introspection)
    limiter = RateLimiter(
        settings.redis_url,
        settings.rate_limit_per_minute,
        namespace=settings.mongodb_database,
        cluster=settings.redis_cluster,
    )
    # First, so it times the whole operation and sees the errors as the client gets them.
    schema.extensions = (RequestTelemetry, *schema.extensions)
    schema.extensions = (*schema.extensions, lambda: RateLimitGate(limiter))
    schema.config.batching_config = {"max_operations": MAX_BATCH}  # a JSON array of operations
    if settings.tracing:
        schema.extensions = (*schema.extensions, tracing_extension())
    view = GraphQLView(
        schema,
        verifier=TokenVerifier.from_settings(settings),
        direct_delivery=settings.direct_delivery,
        keep_alive=True,
        keep_alive_interval=15,
        graphql_ide=None,  # GraphiQL is served from local assets at /graphiql (api/web.py)
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        register_command_metrics()  # before the client exists: listeners apply to new clients
        client = connect(mongo_uri, retry_writes=retry_writes)
        c = collections(client[settings.mongodb_database])
        await ensure_indexes(c)
        bus = build_bus(
            settings.redis_url,
            settings.subscriber_queue_size,
            sharded=settings.redis_sharded_pubsub,
            cluster=settings.redis_cluster,
        )
        await bus.connect()
        outbox = Outbox(
            client[settings.mongodb_database],
            bus,
            grace=settings.outbox_grace_seconds,
            interval=settings.outbox_relay_interval_seconds,
            kill_after_commit=settings.test_kill_after_commit,
            event_format=settings.bus_event_format,
        )
        await outbox.start()
        writer = Writer(
            client,
            c,
            outbox.after_commit,
            stage=outbox.stage,
            schedule=lambda m: scheduled(m, program),
            refine=lambda before, outcome, now: observe(before, outcome, program, now),
            on_notices=NoticePublisher(bus),
            one_command=await supports_one_command(client),
        )
        services = Services(
            program=program,
            reads=Reads(c),
            writer=writer,
            bus=bus,
            notifications=Notifications(c.notifications),
        )
        app.state.mongo = client
        app.state.services = services
        app.state.jobs = JobRunner(c, writer, program)
        log.info("app.started", extra={"redis": bool(settings.redis_url)})
        try:
            if on_ready is not None:
                await on_ready(services)
            if settings.jobs_interval_seconds > 0:
                # Every process runs the loop; the lease lets one of them work at a time.
                async with running(app.state.jobs, settings.jobs_interval_seconds, utc_now):
                    yield
            else:
                yield
        finally:
            await view.stop()
            await outbox.stop()
            await limiter.close()
            await bus.disconnect()
            await client.close()
            log.info("app.stopped")

    app = _App(
        RequestIdMiddleware(view),
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            *(
                r
                for r in web_routes()
                if settings.graphiql or getattr(r, "path", None) not in GRAPHIQL_PATHS
            ),
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
            Middleware(GZipMiddleware, minimum_size=1000),  # outside the ETag: tags plain bodies
            Middleware(GraphQLTransport),
        ],
        lifespan=lifespan,
    )
    app.state.view = view  # api/serving.py closes its sockets on a redeploy
    return app


class _App(Starlette):
    """Starlette with WebSockets to /graphql taking the short way to the view
    (api/socket_path.py); `sockets` is what they pass through instead."""

    def __init__(self, sockets: ASGIApp, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._socket_layers = sockets

    def build_middleware_stack(self) -> ASGIApp:
        return SocketFastPath(super().build_middleware_stack(), self._socket_layers)
