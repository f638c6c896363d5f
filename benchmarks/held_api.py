"""The API with its member reads answered from memory: the GraphQL side of (c) in
bench_read_http.py.

The app is `create_app` as `app.py serve` builds it (every middleware, extension, permission,
the lifespan's clients and loops) and runs under `serve`'s uvicorn options; once started, its
services read members from a dict filled from the database at start instead of the database,
so a member read costs everything but the driver call and the decoding.

    python benchmarks/held_api.py --port P    (configured from the environment, like `serve`)
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from floor_read import exit_on_sigterm, held_members  # noqa: E402

from api.app import create_app  # noqa: E402
from api.logs import configure  # noqa: E402
from api.serving import serve_one  # noqa: E402
from db.client import Collections  # noqa: E402
from db.reads import Reads  # noqa: E402
from loyalty.model import Member  # noqa: E402
from resolvers.context import Services  # noqa: E402
from settings import Settings  # noqa: E402


class HeldReads(Reads):
    """Reads whose members come from `held`; everything else still reads the database."""

    def __init__(self, c: Collections, held: dict[str, Member]) -> None:
        super().__init__(c)
        self._held = held

    async def members(self, ids: Sequence[str]) -> dict[str, Member]:
        return {i: self._held[i] for i in ids if i in self._held}

    async def member(self, member_id: str) -> Member | None:
        return self._held.get(member_id)


def main() -> int:
    parser = argparse.ArgumentParser(description="the API, members held in memory (benchmark)")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = Settings(port=args.port)
    configure(settings.log_level)
    exit_on_sigterm()

    async def hold(services: Services) -> None:
        held = await held_members(services.reads)
        # Requests take their services from app.state (api/graphql_view.py get_context).
        app.state.services = dataclasses.replace(
            services, reads=HeldReads(services.reads.collections, held)
        )

    app = create_app(
        settings,
        settings.mongodb_uri,
        retry_writes=settings.mongodb_retry_writes,
        on_ready=hold,
    )
    return 0 if serve_one(app, settings) else 1


if __name__ == "__main__":
    sys.exit(main())
