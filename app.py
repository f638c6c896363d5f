"""The composition root and the command line.

python app.py serve [--seed]     serve the API (embedded database when MONGODB_URI is empty)
python app.py seed               load the demo members into the configured database
python app.py token --role POS   print a signed development token
python app.py sdl                print the served schema
python app.py jobs run           run the scheduled points jobs once
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from settings import Settings

if TYPE_CHECKING:
    from starlette.applications import Starlette


@contextmanager
def database(settings: Settings) -> Iterator[tuple[str, bool]]:
    """The MongoDB to use: MONGODB_URI, or the embedded server started (and stopped) here."""
    if settings.mongodb_uri:
        yield settings.mongodb_uri, settings.mongodb_retry_writes
        return
    from db.embedded import EmbeddedMongo

    storage = settings.data_dir / "mongo"
    print(f"starting the embedded Mongo-wire server (data in {storage})", file=sys.stderr)
    with EmbeddedMongo(storage, sync_on_commit=True) as embedded:
        yield embedded.uri, False


def dev_token(
    settings: Settings, role: str, member_id: str | None, stores: list[str], hours: float
) -> str:
    from api.auth import issue
    from resolvers.access import Role

    return issue(
        settings.auth_secret.get_secret_value(),
        settings.auth_issuer,
        audience=settings.auth_audience,
        subject=f"dev-{role.lower()}",
        role=Role(role),
        member_id=member_id,
        store_ids=stores,
        ttl=timedelta(hours=hours),
    )


SAMPLE_QUERY = """query Member($id: ID!) {
  member(id: $id) {
    id version profile { firstName lastName }
    balance { available pending value { amount currencyCode } }
    tier { current { name } next { name } pointsToNext progress }
  }
}"""


def print_welcome(settings: Settings, member_ids: list[str]) -> None:
    from api.demo import DEMO_STORE

    host = f"http://{settings.host}:{settings.port}"
    agent = dev_token(settings, "ADMIN", None, [], 12)
    pos = dev_token(settings, "POS", None, [DEMO_STORE], 12)
    print(
        f"""
member-state API on {host}/graphql
GraphiQL:   {host}/graphiql#token=<token>   (or paste the token in the headers pane)
POS screen: {host}/pos#token=<POS token below>

Demo members: {", ".join(member_ids)}

ADMIN token (paste as header  Authorization: Bearer <token>):
{agent}

POS token for {DEMO_STORE}:
{pos}

Sample query (variables: {{"id": "{member_ids[0] if member_ids else ""}"}}):
{SAMPLE_QUERY}
""",
        flush=True,
    )


class Stopped(Exception):
    """A stop signal arrived after the server shut down gracefully."""


def worker_app() -> Starlette:
    """The app of one worker process (`WORKERS` > 1): configured from the environment, which
    `serve` completes with the database it chose."""
    from api.app import create_app
    from api.logs import configure

    settings = Settings()
    configure(settings.log_level)
    return create_app(settings, settings.mongodb_uri, retry_writes=settings.mongodb_retry_writes)


def serve(settings: Settings, seed_demo: bool) -> None:
    import uvicorn

    from api.app import create_app
    from api.demo import seed
    from api.logs import configure
    from api.serving import gc_options, run_workers, serve_one, uvicorn_options
    from resolvers.context import Services

    configure(settings.log_level)
    if settings.mongodb_uri and settings.uses_dev_secret:
        sys.exit("refusing to serve a real database with the development AUTH_SECRET: set one")
    if settings.mongodb_uri and settings.uses_dev_keys:
        sys.exit(
            "refusing to serve a real database with the development ENCRYPTION_KEYS or "
            "LOOKUP_KEY: set them"
        )

    async def on_ready(services: Services) -> None:
        if seed_demo:
            print_welcome(settings, await seed(services))

    # uvicorn shuts down gracefully on SIGINT/SIGTERM and then raises the signal again; these
    # handlers turn that into a normal return, so the embedded database is stopped below.
    def stopped(signum: int, frame: object) -> None:
        raise Stopped(signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stopped)
    with contextlib.suppress(Stopped), database(settings) as (uri, retry_writes):
        if settings.workers > 1:
            if seed_demo:
                print_welcome(settings, asyncio.run(seed_database(settings, uri, retry_writes)))
            # The workers are spawned: they read the environment, completed here.
            os.environ["MONGODB_URI"] = uri
            os.environ["MONGODB_RETRY_WRITES"] = str(retry_writes).lower()
            config = uvicorn.Config("app:worker_app", factory=True, **uvicorn_options(settings))
            if not run_workers(config, settings.workers, **gc_options(settings)):
                sys.exit("a worker could not start; see its log above")
            return
        app = create_app(settings, uri, retry_writes=retry_writes, on_ready=on_ready)
        if not serve_one(app, settings):
            sys.exit("the server could not start; see the log above")


async def seed_database(settings: Settings, uri: str, retry_writes: bool) -> list[str]:
    from api.app import create_app
    from api.demo import seed
    from resolvers.context import Services

    ids: list[str] = []

    async def on_ready(services: Services) -> None:
        ids.extend(await seed(services))

    app = create_app(settings, uri, retry_writes=retry_writes, on_ready=on_ready)
    async with app.router.lifespan_context(app):
        pass
    return ids


def seed_only(settings: Settings) -> None:
    with database(settings) as (uri, retry_writes):
        print_welcome(settings, asyncio.run(seed_database(settings, uri, retry_writes)))


def jobs_once(settings: Settings, at: str | None) -> None:
    """Run the scheduled jobs once, at `at` (ISO time) or now, and print what they did."""
    from datetime import UTC, datetime

    from api.app import create_app
    from resolvers.context import utc_now

    when = datetime.fromisoformat(at).astimezone(UTC) if at else utc_now()
    quiet = settings.model_copy(update={"jobs_interval_seconds": 0})

    async def run(uri: str, retry_writes: bool) -> None:
        app = create_app(quiet, uri, retry_writes=retry_writes)
        async with app.router.lifespan_context(app):
            report = await app.state.jobs.run_once(when)
        if not report.ran:
            print("another process holds the jobs lease; nothing done")
        else:
            print(f"jobs ran at {when.isoformat()}: {report.members} member(s) updated")

    with database(settings) as (uri, retry_writes):
        asyncio.run(run(uri, retry_writes))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="app.py", description="The member-state API.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="serve the API")
    serve_cmd.add_argument("--host")
    serve_cmd.add_argument("--port", type=int)
    serve_cmd.add_argument("--seed", action="store_true", help="load the demo members first")
    commands.add_parser("seed", help="load the demo members")
    token_cmd = commands.add_parser("token", help="print a signed development token")
    token_cmd.add_argument(
        "--role", required=True, choices=["MEMBER", "POS", "KIOSK", "AGENT", "ADMIN", "SERVICE"]
    )
    token_cmd.add_argument("--member-id")
    token_cmd.add_argument("--store", action="append", default=[], help="a store id (repeatable)")
    token_cmd.add_argument("--hours", type=float, default=12.0)
    sdl_cmd = commands.add_parser("sdl", help="print the served schema (SDL)")
    sdl_cmd.add_argument("--out", type=Path, help="write it to this file instead")
    jobs_cmd = commands.add_parser("jobs", help="scheduled points jobs")
    jobs_cmd.add_argument("action", choices=["run"], help="run: every due job once")
    jobs_cmd.add_argument("--at", help="the time to run as (ISO 8601, default now)")
    args = parser.parse_args(argv)

    overrides = {
        k: v
        for k, v in {
            "host": getattr(args, "host", None),
            "port": getattr(args, "port", None),
        }.items()
        if v is not None
    }
    settings = Settings(**overrides)  # type: ignore[arg-type]
    if args.command == "serve":
        serve(settings, args.seed)
    elif args.command == "seed":
        seed_only(settings)
    elif args.command == "token":
        if args.role == "MEMBER" and not args.member_id:
            parser.error("a MEMBER token needs --member-id")
        if args.role in ("POS", "KIOSK") and not args.store:
            parser.error(f"a {args.role} token needs --store")
        print(dev_token(settings, args.role, args.member_id, args.store, args.hours))
    elif args.command == "jobs":
        jobs_once(settings, args.at)
    elif args.command == "sdl":
        from schema.build import build_schema

        sdl = build_schema(settings.max_query_depth).as_str() + "\n"
        if args.out:
            args.out.write_text(sdl, encoding="utf-8")
        else:
            sys.stdout.write(sdl)
    return 0


if __name__ == "__main__":
    sys.exit(main())
