"""Benchmarks of the member-state API against the floor of its own database driver.

    .venv/bin/python benchmarks/bench.py [--quick] [--phases acb]

Starts its own embedded Mongo-wire server (in memory) and its own `app.py serve` process on a
free loopback port, seeds members through the GraphQL API, then measures and prints:

 (a) member read (profile + balance + tier) through GraphQL over HTTP vs the raw driver's
     find_one({"_id": id}) of the same documents: req/s, p50/p99 at 32 concurrent clients;
 (c) recordPurchase through GraphQL vs the raw driver's transaction (update_one $inc on
     the member + insert_one of a ledger-like document) at 8 concurrent clients;
 (b) purchase -> push latency with 1,000 WebSocket subscribers over 500 members (Redis bus),
     to the first and to the last of each member's two subscribers.

(a) and (c) run against an API process with the in-memory bus, (b) against a second one with
the Redis bus (in-memory when Redis does not answer; the output says which). Everything is
stopped at the end, on error and on Ctrl-C. Server logs of the last run: benchmarks/out/.
`--phases c` runs only the purchase phase (after the seeding), for a write-path change.

The phases and what they share are modules beside this script: core_config.py (sizes,
addresses, GraphQL documents), core_environment.py (the header), core_setup.py (token,
seeding, the processes owned), core_measure.py, and one module per phase: core_reads.py (a),
core_writes.py (c), core_pushes.py (b).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import secrets
import signal
import sys
import time
import traceback
from collections.abc import Callable
from types import FrameType

from bench_http import HttpError
from bench_procs import EmbeddedMongoProcess, ServiceConfig, find_process
from bench_stats import LoadResult, ms, percentile, ratio
from core_config import DATABASE, FULL, QUICK, REDIS_URL, Doc, Params, say
from core_environment import header, raise_file_limit, redis_version
from core_measure import Meter
from core_pushes import PushFigures, bench_pushes
from core_reads import ReadFigures, bench_reads
from core_setup import Owned, admin_token, seed_members, start_service, stop_service
from core_writes import WriteFigures, bench_writes
from pymongo import AsyncMongoClient


async def run(p: Params, args: argparse.Namespace, owned: Owned) -> None:
    redis = redis_version()
    header(args, redis)
    say(raise_file_limit(p.subscribers + 1024))
    run_id = secrets.token_hex(3)
    secret = secrets.token_urlsafe(32)
    token = admin_token(secret)

    mongo = EmbeddedMongoProcess()
    owned.mongo = mongo
    began = time.monotonic()
    uri = mongo.start()
    say(
        f"embedded Mongo-wire server pid {mongo.pid} ({uri}), "
        f"up in {time.monotonic() - began:.1f} s, storage :memory:"
    )
    client: AsyncMongoClient[Doc] = AsyncMongoClient(uri, retryWrites=False)
    meter = Meter(client, mongo.pid)
    try:
        service = start_service(owned, ServiceConfig(uri, DATABASE, "", "memory-bus", secret))
        meter.api_pid = service.pid
        began = time.monotonic()
        ids = await seed_members(service.port, token, p.members, p.seed_clients, run_id)
        took = time.monotonic() - began
        say(
            f"seeded {len(ids)} members through enrollMember ({p.seed_clients} clients) in "
            f"{took:.1f} s = {len(ids) / took:.0f}/s"
        )
        phases = set(args.phases)
        reads = (
            await bench_reads(p, service.port, token, ids, client[DATABASE]["members"], meter)
            if "a" in phases
            else None
        )
        writes = (
            await bench_writes(p, service.port, token, ids, client, meter, run_id)
            if "c" in phases
            else None
        )
        stop_service(owned, service)
        pushes = None
        if "b" in phases:
            bus = f"Redis {REDIS_URL}" if redis else "in-memory (Redis not reachable)"
            config = ServiceConfig(
                uri,
                DATABASE,
                REDIS_URL if redis else "",
                "redis-bus" if redis else "memory-bus-b",
                secret,
            )
            service = start_service(owned, config)
            meter.api_pid = service.pid
            meter.redis_pid = find_process("redis-server") if redis else None
            pushes = await bench_pushes(p, service, bus, token, ids, meter)
            stop_service(owned, service)
        summary(reads, writes, pushes)
    finally:
        await client.close()


def _against_driver(label: str, api: LoadResult, floor: LoadResult) -> str:
    return (
        f"{label}  GraphQL {api.rate:8.1f}/s p50 {ms(api.p50)} p99 {ms(api.p99)} ms | driver "
        f"{floor.rate:8.1f}/s p50 {ms(floor.p50)} p99 {ms(floor.p99)} ms | throughput ratio "
        f"{ratio(api.rate, floor.rate)}, p50 ratio {ratio(api.p50, floor.p50)}"
    )


def summary(
    reads: ReadFigures | None, writes: WriteFigures | None, pushes: PushFigures | None
) -> None:
    say("\nSUMMARY  ((a) and (c): in-memory bus; (b): see bus)")
    if reads is not None:
        say(_against_driver("(a) read ", reads.api, reads.floor))
    if writes is not None:
        say(_against_driver("(c) write", writes.api, writes.floor))
    if pushes is not None:
        say(
            f"(b) push   first p50 {ms(percentile(pushes.first, 50))} p99 "
            f"{ms(percentile(pushes.first, 99))} max "
            f"{ms(max(pushes.first, default=math.nan))} ms | last p50 "
            f"{ms(percentile(pushes.last, 50))} p99 {ms(percentile(pushes.last, 99))} max "
            f"{ms(max(pushes.last, default=math.nan))} ms | {pushes.subscribers} sockets, "
            f"{pushes.missing} missing, bus {pushes.bus}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a < 60 s smoke run, fewer figures")
    parser.add_argument(
        "--phases",
        default="acb",
        help="which phases to run, e.g. c for the purchases only (default: all)",
    )
    args = parser.parse_args()
    p = QUICK if args.quick else FULL
    owned = Owned()

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    began = time.monotonic()
    code = 0
    try:
        loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
        with contextlib.suppress(ImportError):
            import uvloop

            loop_factory = uvloop.new_event_loop
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(asyncio.wait_for(run(p, args, owned), p.budget_seconds))
    except KeyboardInterrupt:
        say("\ninterrupted: stopping the servers")
        code = 130
    except TimeoutError:
        say(f"\nABORTED: the run exceeded its {p.budget_seconds:.0f} s budget")
        code = 2
    except Exception as exc:
        if not isinstance(exc, RuntimeError | HttpError | OSError):
            traceback.print_exc()
        say(f"\nFAILED: {type(exc).__name__}: {exc}")
        for service in owned.services:
            say(f"last lines of {service.log_path}:\n{service.log_tail(15)}")
        code = 1
    finally:
        owned.stop_all()
    say(f"\ntotal wall time {time.monotonic() - began:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
