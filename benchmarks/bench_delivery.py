"""Delivery benchmark: fan-out against a bare WebSocket floor, mixed load, memory per idle
subscription, GC tuning, and recovery after a Redis outage.

    .venv/bin/python benchmarks/bench_delivery.py [--quick] [--phases 12345] [--rates 200,120]
        [--workers 2] [--split]

Starts its own redis-server (spare port), embedded Mongo-wire server (in memory), `app.py
serve` and the floor server (benchmarks/floor_ws.py, a bare Starlette WebSocket app under the
same uvicorn), and runs the WebSocket clients in 2 processes of their own (ws_clients.py).
Everything is stopped at the end, on error and on Ctrl-C. Loops are bounded in count and time.

 (1) fan-out: one purchase of one member with N subscribers; time from the event reaching
     Redis to each subscriber having it (first, p50, p99, last), vs the floor sending the same
     bytes to N raw sockets, and vs the API with DIRECT_DELIVERY=false (every event through
     each socket's own operation).
 (2) GC: the same fan-out with GC_FREEZE=false GC_THRESHOLD0=0 (Python's defaults).
 (3) mixed load (bench_mixed.py): S subscribers over M members, purchases at R/s for T s
     (`--rates`: one run per rate on the same server; `--workers N`: on an API of N worker
     processes); push latency (mutation sent -> push received)
     p50/p99/max, and minus the database write time (a raw driver transaction of the same
     shape, measured in the same run); the CPU each process used and the API's database
     commands as its driver timed them (waiting on the database or not); every version checked.
 (4) recovery: Redis stopped, purchases on K members, Redis started; time until every
     subscription has resynced and every changed member's subscribers have the new version.
 (5) memory per idle socket: RSS growth / N of a server that served nothing before (a server
     that held more sockets earlier reuses the memory they freed, which understates it): the
     API with one subscription per socket, the API with connections but no subscription, and
     the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from bench_mixed import mixed_phase
from bench_procs import (
    EmbeddedMongoProcess,
    import_service,
    rss_mib,
)
from bench_stats import percentile
from delivery_rig import (
    CLIENT_PROCESSES,
    Api,
    Arrivals,
    Redis,
    Rig,
    Server,
    all_subscribed,
    api_server,
    clients,
    floor_server,
    metric_sum,
    ms,
    none_subscribed,
    say,
    spread,
    wait_for_version,
)
from redis import asyncio as aioredis


@dataclass(frozen=True)
class Sizes:
    fanout: tuple[int, ...]
    rounds: int
    gc_size: int
    mixed_subscribers: int
    mixed_members: int
    mixed_rate: int
    mixed_seconds: float
    recovery_subscribers: int
    recovery_changed: int


FULL = Sizes((1000, 5000, 10000), 5, 5000, 10000, 5000, 200, 10.0, 5000, 200)
QUICK = Sizes((100, 400), 3, 400, 400, 200, 40, 3.0, 200, 20)


# --------------------------------------------------------------------------- phases


async def fanout(
    api: Api, redis_url: str, arrivals: Arrivals, token: str, n: int, rounds: int
) -> tuple[list[float], str]:
    """Last-arrival times of `rounds` pushes to n subscribers of one member."""
    member = (await api.enroll(1))[0]
    channel = f"member:{member}"
    await arrivals.watch(channel)
    lasts: list[float] = []
    sample = ""
    with clients("api", api.ws_url, token, [member] * n) as group:
        await asyncio.sleep(1.0)
        for _ in range(rounds):
            group.records.clear()
            version = await api.purchase(member)
            t0 = await arrivals.when(channel, version)
            await wait_for_version(group, version, n, 60)
            delays = [r[4] - t0 for r in group.records if r[2] == version]
            wrong = [r for r in group.records if r[2] != version]
            if len(delays) != n or wrong:
                raise RuntimeError(
                    f"fan-out: {len(delays)} of {n} got v{version}, {len(wrong)} other"
                )
            lasts.append(max(delays))
            sample = spread(delays)
            await asyncio.sleep(0.5)
    return lasts, sample


async def floor_fanout(
    floor: Server, redis_url: str, arrivals: Arrivals, n: int, rounds: int, text: str
) -> list[float]:
    publisher = aioredis.Redis.from_url(redis_url)
    await arrivals.watch("floor")
    lasts: list[float] = []
    try:
        with clients("floor", f"ws://127.0.0.1:{floor.port}/ws", "", ["floor"] * n) as group:
            await asyncio.sleep(1.0)
            base = 1000 * n  # a version no earlier floor round used
            for version in range(base, base + rounds):
                group.records.clear()
                message = text.replace('"version":2,', f'"version":{version},', 1)
                await publisher.publish("floor", message)
                t0 = await arrivals.when("floor", version)
                await wait_for_version(group, version, n, 60)
                delays = [r[4] - t0 for r in group.records if r[2] == version]
                lasts.append(max(delays))
                await asyncio.sleep(0.5)
    finally:
        await publisher.aclose()
    return lasts


async def idle_memory(server: Server, mode: str, url: str, token: str, members: list[str]) -> float:
    """RSS growth of a server that has served nothing else, per idle socket (KiB)."""
    before = rss_mib(server.process.pid)
    with clients(mode, url, token, members):
        await asyncio.sleep(2.0)
        return (rss_mib(server.process.pid) - before) * 1024 / len(members)


async def push_text(api: Api, token: str) -> str:
    """One real push of the benchmark's subscription, as the API sends it (the floor's bytes)."""
    from websockets.asyncio.client import connect
    from websockets.typing import Subprotocol
    from ws_clients import SUBSCRIPTION

    member = (await api.enroll(1))[0]
    async with connect(api.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        )
        await ws.recv()
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIPTION, "variables": {"id": member}},
                }
            )
        )
        await asyncio.sleep(0.3)
        await api.purchase(member)
        while True:
            raw = await ws.recv()
            text = raw if isinstance(raw, str) else raw.decode()
            if '"next"' in text:
                return text


async def recovery(
    api: Api,
    http: httpx.AsyncClient,
    server: Server,
    redis: Redis,
    token: str,
    members: list[str],
    subscribers: int,
    changed: int,
) -> dict[str, float]:
    per_member = max(1, subscribers // len(members))
    sockets = [m for m in members for _ in range(per_member)][:subscribers]
    watched = sorted(set(sockets))
    await none_subscribed(http, server.port)
    with clients("api", api.ws_url, token, sockets) as group:
        await all_subscribed(http, server.port, len(sockets))
        resyncs_before = await metric_sum(http, server.port, "bus_resyncs_total")
        redis.stop()
        await asyncio.sleep(1.0)
        targets = {m: await api.purchase(m) for m in watched[:changed]}
        restarted_at = time.monotonic()
        redis.start()
        started = time.monotonic() - restarted_at
        resynced_at = changed_at = 0.0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (resynced_at and changed_at):
            if not resynced_at:
                resyncs = await metric_sum(http, server.port, "bus_resyncs_total")
                if resyncs - resyncs_before >= len(sockets):
                    resynced_at = time.monotonic() - restarted_at
            if not changed_at:
                records = await asyncio.to_thread(group.collect)
                have = {(r[0]) for r in records if targets.get(r[1], 1 << 30) <= r[2]}
                want = sum(per_member for _ in targets)
                if len(have) >= want:
                    changed_at = time.monotonic() - restarted_at
            await asyncio.sleep(0.05)
    return {"redis_start": started, "all_resynced": resynced_at, "changed_delivered": changed_at}


# --------------------------------------------------------------------------- main


async def run(
    sizes: Sizes,
    quick: bool,
    phases: set[str],
    split: bool = False,
    rates: list[int] | None = None,
    workers: int = 1,
) -> None:
    rates = rates or [sizes.mixed_rate]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    say("delivery benchmark" + (" (--quick)" if quick else ""))
    say(f"date        {datetime.now(UTC).isoformat(timespec='seconds')}")
    say(
        f"machine     {platform.platform()} ({os.cpu_count()} cpus), "
        f"python {platform.python_version()}"
    )
    say(f"file limit  {soft} -> {hard}; clients in {CLIENT_PROCESSES} processes")
    say(f"load        {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min, whole machine)")
    secret = secrets.token_hex(32)
    auth = import_service("api.auth")
    access = import_service("resolvers.access")
    token: str = auth.issue(secret, "member-state-api", subject="bench", role=access.Role.ADMIN)
    # purchases as a till sends them: a POS token of the store (no back-office audit record)
    till: str = auth.issue(
        secret, "member-state-api", subject="till", role=access.Role.POS, store_ids=["store-001"]
    )
    redis = Redis()
    mongo = EmbeddedMongoProcess()
    servers: list[Server] = []
    arrivals: Arrivals | None = None
    try:
        redis.start()
        mongo_uri = mongo.start()
        api_proc = api_server(mongo_uri, redis.url, secret)
        servers.append(api_proc)
        floor = floor_server(redis.url)
        servers.append(floor)
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=64)) as http:
            api = Api(http, api_proc.port, token, till)
            rig = Rig(
                http, api, api_proc, mongo_uri, mongo.pid, redis, secret, token, till, servers
            )
            arrivals = Arrivals(redis.url)
            members: list[str] = []
            text = await push_text(api, token)
            say(f"push size   {len(text)} bytes (the floor sends these bytes)")
            say()
            if "1" in phases:
                say("(1) fan-out: one change to N subscribers of one member, Redis -> last socket")
                # the same API with every event going through each socket's own operation
                operations = api_server(mongo_uri, redis.url, secret, DIRECT_DELIVERY="false")
                servers.append(operations)
                operations_api = Api(http, operations.port, token, till)
                for n in sizes.fanout:
                    lasts, sample = await fanout(api, redis.url, arrivals, token, n, sizes.rounds)
                    floor_lasts = await floor_fanout(
                        floor, redis.url, arrivals, n, sizes.rounds, text
                    )
                    slow_lasts, _ = await fanout(
                        operations_api, redis.url, arrivals, token, n, sizes.rounds
                    )
                    say(
                        f"  N={n:>6}  API   last p50 {ms(percentile(lasts, 50))}  "
                        f"max {ms(max(lasts))}"
                        f"   (last round: {sample})"
                    )
                    say(
                        f"  N={n:>6}  floor last p50 {ms(percentile(floor_lasts, 50))}  max "
                        f"{ms(max(floor_lasts))}   ratio API/floor "
                        f"{percentile(lasts, 50) / percentile(floor_lasts, 50):.2f}x (p50), "
                        f"{max(lasts) / max(floor_lasts):.2f}x (max)"
                    )
                    say(
                        f"  N={n:>6}  API with DIRECT_DELIVERY=false: last p50 "
                        f"{ms(percentile(slow_lasts, 50))}  max {ms(max(slow_lasts))}   ratio to "
                        f"the floor {percentile(slow_lasts, 50) / percentile(floor_lasts, 50):.2f}x"
                        " (p50)"
                    )
                for done in (floor, operations):
                    done.stop()
                    servers.remove(done)
            say()
            if "2" in phases:
                say(f"(2) GC: fan-out to {sizes.gc_size} with Python's default GC vs tuned")
                untuned = api_server(
                    mongo_uri, redis.url, secret, GC_FREEZE="false", GC_THRESHOLD0="0"
                )
                servers.append(untuned)
                plain_api = Api(http, untuned.port, token, till)
                plain, _ = await fanout(
                    plain_api, redis.url, arrivals, token, sizes.gc_size, sizes.rounds * 2
                )
                untuned.stop()
                servers.remove(untuned)
                tuned, _ = await fanout(
                    api, redis.url, arrivals, token, sizes.gc_size, sizes.rounds * 2
                )
                say(f"  default GC  last p50 {ms(percentile(plain, 50))}  max {ms(max(plain))}")
                # the API's own setting: its default unless this run's environment sets one
                threshold0 = (
                    os.environ.get("GC_THRESHOLD0")
                    or import_service("settings").Settings.model_fields["gc_threshold0"].default
                )
                say(
                    f"  gc.freeze + threshold0 {threshold0}  last p50 {ms(percentile(tuned, 50))}  "
                    f"max {ms(max(tuned))}"
                )
            say()
            if "3" in phases:
                members = await mixed_phase(
                    rig,
                    sizes.mixed_subscribers,
                    sizes.mixed_members,
                    sizes.mixed_seconds,
                    rates,
                    split,
                    workers,
                )
            say()
            if "4" in phases:
                say(
                    f"(4) recovery: {sizes.recovery_subscribers} subscribers, Redis stopped, "
                    f"{sizes.recovery_changed} members changed, Redis started"
                )
                await arrivals.close()
                arrivals = None
                if not members:
                    members = await api.enroll(sizes.recovery_subscribers // 2)
                rec = await recovery(
                    api,
                    http,
                    api_proc,
                    redis,
                    token,
                    members,
                    sizes.recovery_subscribers,
                    sizes.recovery_changed,
                )
                say(f"  redis-server up again after {ms(rec['redis_start'])}")
                # 0.0: not reached in the 120 s the recovery waits
                resynced, delivered = rec["all_resynced"], rec["changed_delivered"]
                say(
                    "  every subscription resynced "
                    f"{ms(resynced) if resynced else 'NOT within 120 s'} after the restart"
                )
                say(
                    "  every changed member's subscribers had the new version "
                    f"{ms(delivered) if delivered else 'NOT within 120 s'}"
                )
            if "5" in phases:
                say()
                say("(5) memory per idle socket: RSS growth / N, each N on a fresh server")
                member = (await api.enroll(1))[0]
                for n in sizes.fanout:
                    kib: dict[str, float] = {}
                    for label, mode in (("subscribed", "api"), ("connected", "api-connected")):
                        fresh = api_server(mongo_uri, redis.url, secret)
                        servers.append(fresh)
                        url = Api(http, fresh.port, token, till).ws_url
                        kib[label] = await idle_memory(fresh, mode, url, token, [member] * n)
                        fresh.stop()
                        servers.remove(fresh)
                    empty_floor = floor_server(redis.url)
                    servers.append(empty_floor)
                    floor_url = f"ws://127.0.0.1:{empty_floor.port}/ws"
                    kib["floor"] = await idle_memory(
                        empty_floor, "floor", floor_url, "", ["floor"] * n
                    )
                    empty_floor.stop()
                    servers.remove(empty_floor)
                    say(
                        f"  N={n:>6}  API, one memberUpdated subscription per socket "
                        f"{kib['subscribed']:.1f} KiB;  API, connection acknowledged, no "
                        f"subscription {kib['connected']:.1f} KiB;  floor {kib['floor']:.1f} KiB"
                    )
    finally:
        if arrivals is not None:
            await arrivals.close()
        for server in servers:
            server.stop()
        mongo.stop()
        redis.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes, for development")
    parser.add_argument(
        "--phases", default="12345", help="which phases to run, e.g. 34 (default: all)"
    )
    parser.add_argument(
        "--split",
        action="store_true",
        help="mixed load: purchases through a second API process, sockets on the first",
    )
    parser.add_argument(
        "--rates",
        default="",
        help="mixed load: purchases per second, one run each, e.g. 200,120 (default: 200)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="mixed load: the API as this many worker processes on one port (WORKERS)",
    )
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",") if r.strip()]
    sizes = QUICK if args.quick else FULL
    asyncio.run(run(sizes, args.quick, set(args.phases), args.split, rates, args.workers))


if __name__ == "__main__":
    main()
