"""nextBestActions against a member read, measured in the same run over real HTTP.

    .venv/bin/python benchmarks/bench_decisions.py            # 300 members, 10 s phases
    .venv/bin/python benchmarks/bench_decisions.py --quick    # 60 members, 3 s phases

Starts the embedded Mongo-wire server and the API in this process (in-memory bus), enrols
members with a purchase each (so every rule has something to rank), then runs closed loops of
the same number of clients, in three interleaved rounds so load from other work falls on every
phase alike: (a) the floor, a member read (id, version, balance, tier), (b) the member read
plus nextBestActions on APP, (c) nextBestActions on POS alone. Besides latency it prints this
process's CPU per request (API, event loop and client; the database is a child process). The
decision needs no query beyond the member document, so (b) and (c) should cost about what (a)
costs.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_stats import LoadResult, Usage, closed_loop, ratio

from api.app import create_app
from api.auth import issue
from db.embedded import EmbeddedMongo
from resolvers.access import Role
from settings import Settings

READ = """query($id: ID!) { member(id: $id) {
  id version balance { available pending } tier { current { id } pointsToNext } } }"""
READ_AND_DECIDE = """query($id: ID!) { member(id: $id) {
  id version balance { available pending } tier { current { id } pointsToNext }
  nextBestActions(context: {channel: APP}, first: 3) { id kind title message score reasons } } }"""
DECIDE = """query($id: ID!) { member(id: $id) {
  nextBestActions(context: {channel: POS}, first: 3) { id kind title message score reasons } } }"""
ENROLL = (
    """mutation($input: EnrollMemberInput!) { enrollMember(input: $input) { member { id } } }"""
)
PURCHASE = """mutation($input: RecordPurchaseInput!) { recordPurchase(input: $input) {
  userErrors { code } } }"""


ROUNDS = 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _cpu() -> Usage:
    """This process's CPU time: the API, the event loop and the client all run in it."""
    return Usage(cpu={"process": time.process_time()})


def merged(parts: list[LoadResult]) -> LoadResult:
    return LoadResult(
        parts[0].name,
        parts[0].clients,
        sum(p.ops for p in parts),
        sum(p.errors for p in parts),
        sum(p.elapsed for p in parts),
        [x for p in parts for x in p.latencies],
        Usage(cpu={"process": sum(p.usage.cpu["process"] for p in parts)}),
    )


async def run(members: int, seconds: float, clients: int) -> None:
    secret = secrets.token_hex(32)
    settings = Settings(
        mongodb_database="bench_decisions",
        redis_url="",
        auth_secret=secret,
        log_level="WARNING",
        jobs_interval_seconds=0,
    )
    with EmbeddedMongo(":memory:") as mongo:
        app = create_app(settings, mongo.uri, retry_writes=False)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
        )
        task = asyncio.create_task(server.serve())
        for _ in range(400):  # uvicorn says it started through a flag only
            if server.started:
                break
            await asyncio.sleep(0.05)
        bearer = issue(
            secret,
            settings.auth_issuer,
            subject="bench",
            role=Role.ADMIN,
            ttl=timedelta(hours=1),
        )
        url = f"http://127.0.0.1:{port}/graphql"
        async with httpx.AsyncClient(
            headers={"authorization": f"Bearer {bearer}"}, timeout=30
        ) as http:

            async def post(query: str, variables: dict[str, object]) -> dict[str, object]:
                response = await http.post(url, json={"query": query, "variables": variables})
                body: dict[str, object] = response.json()
                if "errors" in body:
                    raise RuntimeError(str(body["errors"])[:200])
                return body

            ids: list[str] = []
            for i in range(members):
                enrolled = await post(
                    ENROLL,
                    {
                        "input": {
                            "identifiers": [{"kind": "EMAIL", "value": f"b{i}-{port}@example.com"}],
                            "channel": "APP",
                            "consents": {"email": i % 2 == 0, "push": i % 3 == 0},
                        }
                    },
                )
                member_id = enrolled["data"]["enrollMember"]["member"]["id"]  # type: ignore[index]
                ids.append(member_id)
                await post(
                    PURCHASE,
                    {
                        "input": {
                            "memberId": member_id,
                            "amount": f"{random.randint(20, 700)}.00",
                            "currencyCode": "EUR",
                            "channel": "POS",
                            "storeId": "store-001",
                            "orderId": f"o-{i}",
                            "idempotencyKey": f"k-{i}",
                        }
                    },
                )
            print(
                f"{members} members enrolled with a purchase each; {clients} clients, "
                f"{seconds:.0f} s per phase",
                flush=True,
            )

            def loop(query: str) -> Callable[[int], Awaitable[bool]]:
                async def operation(client: int) -> bool:
                    await post(query, {"id": random.choice(ids)})
                    return True

                return operation

            await closed_loop("warm-up", clients, min(seconds, 2), loop(READ_AND_DECIDE), _cpu)
            phases = {
                "(a) member read (floor)": READ,
                "(b) member read + nextBestActions": READ_AND_DECIDE,
                "(c) nextBestActions alone": DECIDE,
            }
            # Interleaved rounds: load from other work on the machine falls on every phase alike.
            runs: dict[str, list[LoadResult]] = {name: [] for name in phases}
            for _ in range(ROUNDS):
                for name, query in phases.items():
                    runs[name].append(
                        await closed_loop(name, clients, seconds / ROUNDS, loop(query), _cpu)
                    )
        server.should_exit = True
        await task
    floor, both, alone = (merged(parts) for parts in runs.values())
    for result in (floor, both, alone):
        print(result.line())
        print(result.cost_line())
    print(
        f"  p50 ratio (b)/(a) {ratio(both.p50, floor.p50)}   (c)/(a) {ratio(alone.p50, floor.p50)}"
    )
    print(
        f"  p99 ratio (b)/(a) {ratio(both.p99, floor.p99)}   (c)/(a) {ratio(alone.p99, floor.p99)}"
    )
    print(f"  throughput ratio (b)/(a) {ratio(both.rate, floor.rate)}")
    cpu = [r.usage.cpu["process"] / max(r.ops, 1) for r in (floor, both, alone)]
    print(
        f"  CPU per request ratio (b)/(a) {ratio(cpu[1], cpu[0])}   (c)/(a) {ratio(cpu[2], cpu[0])}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="60 members, 3 s phases")
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    members, seconds = (60, 3.0) if args.quick else (300, 10.0)
    started = time.perf_counter()
    asyncio.run(run(members, seconds, args.clients))
    print(f"  total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
