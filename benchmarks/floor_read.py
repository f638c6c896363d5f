"""The floor of the HTTP read benchmark (bench_read_http.py): a plain Starlette JSON endpoint.

GET /member/{id} answers the bytes the API's GraphQL member read (core_config.py's MEMBER_READ:
profile, balance, tier) answers, with no GraphQL: the API's own driver call and decoding
(db.reads.Reads.members, which its member loader calls, then Reads.follow), the same domain
functions for the tier figures, and strawberry's JSON encoding. No token is checked and no
middleware runs: it is the least a Python server must do to answer that document.

With --held the members are read once at start and held decoded in memory; each request builds
the document from the held member, without the database.

    python benchmarks/floor_read.py [--held] --port P

Configured from the environment like `app.py serve` (MONGODB_URI, MONGODB_DATABASE, the keys of
personal data at rest, the GC settings) and run by uvicorn with `serve`'s own options.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

from api.app import load_program  # noqa: E402
from api.logs import configure  # noqa: E402
from api.serving import serve_one  # noqa: E402
from db import crypto  # noqa: E402
from db.client import collections, connect  # noqa: E402
from db.reads import Reads  # noqa: E402
from loyalty import model  # noqa: E402
from loyalty.program import ProgramDef  # noqa: E402
from loyalty.tiers import progress_of, qualifying_at  # noqa: E402
from resolvers.context import utc_now  # noqa: E402
from settings import Settings  # noqa: E402

JSON = "application/json"


def member_document(m: model.Member, program: ProgramDef, now: datetime) -> dict[str, Any]:
    """What the GraphQL read's `member` field holds, key for key, for an unmasked viewer."""
    p = m.profile
    c = p.consents
    held = program.tier(m.tier.tier_id)
    points = qualifying_at(m.tier, now, program)
    progress = progress_of(points, held, program)
    upcoming = progress.next
    return {
        "id": m.id,
        "version": m.version,
        "profile": {
            "firstName": p.first_name,
            "lastName": p.last_name,
            "email": p.email,
            "phone": p.phone,
            "birthday": p.birthday,
            "preferredChannel": p.preferred_channel.name if p.preferred_channel else None,
            "preferredStoreId": p.preferred_store_id or None,
            "consents": {
                "email": c.email,
                "sms": c.sms,
                "push": c.push,
                "personalization": c.personalization,
            },
        },
        "balance": {
            "available": m.balance.available,
            "pending": m.balance.pending,
            "lifetime": m.balance.lifetime,
        },
        "tier": {
            "current": {"id": held.id, "name": held.name},
            "next": {"id": upcoming.id, "name": upcoming.name} if upcoming else None,
            "qualifyingPoints": points,
            "pointsToNext": progress.points_to_next,
            "progress": progress.progress,
            "since": m.tier.since.isoformat(),
        },
    }


def answer(m: model.Member | None, program: ProgramDef) -> Response:
    data = {"member": member_document(m, program, utc_now()) if m is not None else None}
    # strawberry's encoding (BaseView.encode_json), so the bytes can be compared
    return Response(json.dumps({"data": data}, separators=(",", ":")), media_type=JSON)


async def held_members(reads: Reads) -> dict[str, model.Member]:
    """Every member of the database, decoded, by id (read once, at start)."""
    ids = [d["_id"] async for d in reads.collections.members.find({}, {"_id": 1})]
    return await reads.members(ids)


def build(settings: Settings, held: bool) -> Starlette:
    program = load_program(settings.program_file)
    crypto.configure(
        crypto.PersonalDataCipher.of(
            settings.encryption_key_list, settings.lookup_key.get_secret_value()
        )
    )
    reads: Reads | None = None
    members: dict[str, model.Member] = {}

    async def member(request: Request) -> Response:
        member_id = request.path_params["id"]
        if held:
            return answer(members.get(member_id), program)
        assert reads is not None
        found = (await reads.members([member_id])).get(member_id)
        return answer(await reads.follow(found), program)

    async def ready(request: Request) -> Response:
        return Response(b"ok")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal reads
        client = connect(settings.mongodb_uri, retry_writes=settings.mongodb_retry_writes)
        reads = Reads(collections(client[settings.mongodb_database]))
        if held:
            members.update(await held_members(reads))
        try:
            yield
        finally:
            await client.close()

    return Starlette(
        routes=[Route("/member/{id}", member), Route("/readyz", ready)], lifespan=lifespan
    )


def exit_on_sigterm() -> None:
    """uvicorn shuts down on SIGTERM, then raises it again: end with 0 then, as `serve` does."""

    def stopped(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stopped)


def main() -> int:
    parser = argparse.ArgumentParser(description="plain JSON member read (benchmark floor)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--held", action="store_true", help="members held in memory")
    args = parser.parse_args()
    settings = Settings(port=args.port)
    configure(settings.log_level)
    exit_on_sigterm()
    return 0 if serve_one(build(settings, args.held), settings) else 1


if __name__ == "__main__":
    sys.exit(main())
