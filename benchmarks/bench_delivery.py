"""Delivery benchmark: fan-out against a bare WebSocket floor, mixed load, memory per idle
subscription, GC tuning, and recovery after a Redis outage.

    .venv/bin/python benchmarks/bench_delivery.py [--quick] [--phases 12345] [--rates 200,120]

Starts its own redis-server (spare port), embedded Mongo-wire server (in memory), `app.py
serve` and the floor server (benchmarks/floor_ws.py, a bare Starlette WebSocket app under the
same uvicorn), and runs the WebSocket clients in 2 processes of their own (ws_clients.py).
Everything is stopped at the end, on error and on Ctrl-C. Loops are bounded in count and time.

 (1) fan-out: one purchase of one member with N subscribers; time from the event reaching
     Redis to each subscriber having it (first, p50, p99, last), vs the floor sending the same
     bytes to N raw sockets, and vs the API with DIRECT_DELIVERY=false (every event through
     each socket's own operation).
 (2) GC: the same fan-out with GC_FREEZE=false GC_THRESHOLD0=0 (Python's defaults).
 (3) mixed load: S subscribers over M members, purchases at R/s for T s (`--rates`: one run
     per rate on the same server); push latency (mutation sent -> push received)
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
import functools
import itertools
import json
import os
import platform
import random
import re
import resource
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from bench_procs import (
    EmbeddedMongoProcess,
    cpu_seconds,
    import_service,
    rss_mib,
    self_cpu_seconds,
)
from bench_stats import percentile
from delivery_rig import (
    CLIENT_PROCESSES,
    Api,
    Arrivals,
    Redis,
    Server,
    api_server,
    clients,
    floor_server,
    ms,
    say,
    spread,
    wait_for_version,
)
from pymongo import AsyncMongoClient
from redis import asyncio as aioredis
from ws_clients import Record

IN_FLIGHT = 16  # purchases outstanding at most in the mixed load


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


async def db_write_times(mongo_uri: str, samples: int, outbox: bool = True) -> list[float]:
    """A raw driver transaction shaped like a purchase: member update, ledger insert and (with
    `outbox`) the outbox insert."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, retryWrites=False)
    db = client[f"bench_delivery_raw_{outbox}"]
    await db.members.insert_one({"_id": "m", "version": 0, "points": 0})
    times: list[float] = []
    try:
        for n in range(samples):
            began = time.monotonic()
            async with client.start_session() as session, await session.start_transaction():
                await db.members.update_one(
                    {"_id": "m", "version": n},
                    {"$inc": {"version": 1, "points": 3}},
                    session=session,
                )
                await db.ledger.insert_one(
                    {"memberId": "m", "seq": n, "points": 3}, session=session
                )
                if outbox:
                    await db.outbox.insert_one(
                        {"_id": f"m:{n}", "message": "x" * 1500}, session=session
                    )
            times.append(time.monotonic() - began)
    finally:
        await client.close()
    return times


async def mixed(
    api: Api,
    quiet: Callable[[], Awaitable[float]],
    ready: Callable[[int], Awaitable[float]],
    api_stats: Callable[[], Awaitable[dict[str, tuple[float, float]]]],
    db_top: Callable[[], Awaitable[dict[str, tuple[float, float]]]],
    token: str,
    members: list[str],
    subscribers: int,
    rate: int,
    seconds: float,
    pids: dict[str, int],
) -> dict[str, Any]:
    per_member = max(1, subscribers // len(members))
    sockets = [m for m in members for _ in range(per_member)][:subscribers]
    rng = random.Random(7)
    sent: dict[tuple[str, int], tuple[float, float]] = {}
    failures = skipped = 0
    emptied_after = await quiet()
    with clients("api", api.ws_url, token, sockets) as group:
        subscribed_after = await ready(len(sockets))

        async def one(member: str) -> None:
            nonlocal failures
            began = time.monotonic()
            try:
                version = await api.purchase(member)
            except Exception:
                failures += 1
                return
            sent[(member, version)] = (began, time.monotonic())

        # Open loop at `rate`, but at most IN_FLIGHT purchases outstanding: a slot that finds
        # them all busy is skipped (and counted), so latency is not a client-side queue.
        total = int(rate * seconds)
        watched = {**pids, **{f"clients{n}": p.pid or 0 for n, p in enumerate(group.processes)}}
        cpu_before = {name: cpu_seconds(pid) for name, pid in watched.items()}
        api_before = await api_stats()
        top_before = await db_top()
        self_before = self_cpu_seconds()
        start = time.monotonic()
        tasks: set[asyncio.Task[None]] = set()
        for i in range(total):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if len(tasks) >= IN_FLIGHT:
                skipped += 1
                continue
            task = asyncio.create_task(one(rng.choice(members)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - start
        cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in watched.items()}
        cpu["purchaser (this process)"] = self_cpu_seconds() - self_before
        api_counted = minus(await api_stats(), api_before)
        db_server = minus(await db_top(), top_before)
        await asyncio.sleep(3.0)
        records = await asyncio.to_thread(group.collect)
    # check every socket: versions only go up; each purchase of its member arrived
    by_socket: dict[int, list[Record]] = {}
    for record in records:
        by_socket.setdefault(record[0], []).append(record)
    latest: dict[str, int] = {}
    for member, version in sent:
        latest[member] = max(latest.get(member, 0), version)
    out_of_order = lost = coalesced = 0
    lost_detail: list[str] = []
    latencies: list[float] = []
    for index, member in enumerate(sockets):
        got = sorted(by_socket.get(index, []), key=lambda r: r[4])
        versions = [r[2] for r in got]
        if any(b <= a for a, b in itertools.pairwise(versions)):
            out_of_order += 1
        if member in latest and (not versions or versions[-1] < latest[member]):
            lost += 1
            if len(lost_detail) < 5:
                mine = sorted(v for m, v in sent if m == member)
                lost_detail.append(
                    f"socket {index} ({member}): got {versions}, sent {mine}, notes "
                    f"{[n for i, n in group.notes if i == index]}"
                )
        coalesced += sum(1 for r in got if r[3])
        for record in got:
            if not record[3] and (member, record[2]) in sent:
                latencies.append(record[4] - sent[(member, record[2])][0])
    responses = [done - began for began, done in sent.values()]
    return {
        "purchases": len(sent),
        "failures": failures,
        "skipped": skipped,
        "rate": len(sent) / elapsed,
        "latencies": latencies,
        "responses": responses,
        "out_of_order": out_of_order,
        "lost": lost,
        "coalesced": coalesced,
        "lost_detail": lost_detail,
        "notes": group.notes,
        "sockets": len(sockets),
        "cpu": cpu,
        "elapsed": elapsed,
        "subscribed_after": subscribed_after,
        "emptied_after": emptied_after,
        "api_counted": api_counted,
        "db_server": db_server,
    }


def minus(
    after: dict[str, tuple[float, float]], before: dict[str, tuple[float, float]]
) -> dict[str, tuple[float, float]]:
    """(total, count) counters over an interval."""
    return {
        key: (total - before.get(key, (0.0, 0.0))[0], count - before.get(key, (0.0, 0.0))[1])
        for key, (total, count) in after.items()
    }


async def server_top(mongo_uri: str) -> dict[str, tuple[float, float]]:
    """The database server's own time per collection so far, from its `top` command:
    (seconds, operations) by namespace."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri)
    try:
        totals = (await client.admin.command("top"))["totals"]
    finally:
        await client.close()
    return {
        namespace: (row["total"]["time"] / 1e6, float(row["total"]["count"]))
        for namespace, row in totals.items()
        if isinstance(row, dict) and "total" in row
    }


async def metric_sum(http: httpx.AsyncClient, port: int, name: str) -> float:
    text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + " ") or line.startswith(name + "{")
    )


def samples(text: str) -> Iterator[tuple[str, dict[str, str], float]]:
    """(name, labels, value) of each sample of a Prometheus text exposition."""
    for line in text.splitlines():
        if line.startswith("#") or "{" not in line:
            continue
        name, rest = line.split("{", 1)
        labels, value = rest.rsplit("} ", 1)
        yield name, dict(re.findall(r'(\w+)="([^"]*)"', labels)), float(value)


async def api_counters(http: httpx.AsyncClient, port: int) -> dict[str, tuple[float, float]]:
    """The API's counters so far, as (total, count) pairs:
    - "db <command>": seconds and commands as its driver timed them
      (`db_command_duration_seconds`), "db <command> failed": (failures, failures) (a write
      conflict runs a transaction again);
    - "gc <generation>": seconds and collections the garbage collector stopped the process
      (`python_gc_pause_seconds`), "gc <generation> over 0.1 s": (pauses, pauses) longer."""
    found: dict[str, list[float]] = {}

    def add(key: str, slot: int, value: float) -> None:
        found.setdefault(key, [0.0, 0.0])[slot] += value

    text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    for name, labels, value in samples(text):
        if name == "db_command_duration_seconds_sum":
            add(f"db {labels['command']}", 0, value)
        elif name == "db_command_duration_seconds_count":
            add(f"db {labels['command']}", 1, value)
        elif name == "db_command_failures_total":
            add(f"db {labels['command']} failed", 0, value)
            add(f"db {labels['command']} failed", 1, value)
        elif name == "python_gc_pause_seconds_sum":
            add(f"gc {labels['generation']}", 0, value)
        elif name == "python_gc_pause_seconds_count":
            add(f"gc {labels['generation']}", 1, value)
            for slot in (0, 1):
                add(f"gc {labels['generation']} over 0.1 s", slot, value)
        elif name == "python_gc_pause_seconds_bucket" and labels["le"] == "0.1":
            for slot in (0, 1):
                add(f"gc {labels['generation']} over 0.1 s", slot, -value)
    return {key: (total, count) for key, (total, count) in found.items()}


async def none_subscribed(http: httpx.AsyncClient, port: int) -> float:
    """Seconds until the sockets of an earlier phase are gone from the server: until then the
    gauge counts them too, and a phase would start while its own clients still subscribe."""
    began = time.monotonic()
    while await metric_sum(http, port, "subscriptions_open") > 0:
        if time.monotonic() - began > 120:
            raise TimeoutError("earlier subscriptions still open after 120 s")
        await asyncio.sleep(0.1)
    return time.monotonic() - began


async def all_subscribed(http: httpx.AsyncClient, port: int, n: int) -> float:
    """Seconds until the server has `n` member streams open (a client has sent its subscribe
    when it says ready, the server may not have run it yet); then one more second to settle."""
    began = time.monotonic()
    while await metric_sum(http, port, "subscriptions_open") < n:
        if time.monotonic() - began > 120:
            raise TimeoutError(f"fewer than {n} subscriptions open after 120 s")
        await asyncio.sleep(0.1)
    waited = time.monotonic() - began
    await asyncio.sleep(1.0)
    return waited


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
    sizes: Sizes, quick: bool, phases: set[str], split: bool = False, rates: list[int] | None = None
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
                say(
                    f"(3) mixed load: {sizes.mixed_subscribers} subscribers over "
                    f"{sizes.mixed_members} members, {', '.join(map(str, rates))} purchases/s "
                    f"for {sizes.mixed_seconds:.0f} s each; purchases as a till sends them (a "
                    f"POS token, raw keep-alive HTTP, at most {IN_FLIGHT} in flight)"
                )
                began = time.monotonic()
                members = await api.enroll(sizes.mixed_members)
                say(f"  enrolled {len(members)} members in {time.monotonic() - began:.1f} s")
                bare = await db_write_times(mongo_uri, 200, outbox=False)
                writes = await db_write_times(mongo_uri, 200)
                w50 = percentile(writes, 50)
                say(
                    f"  database write without the outbox insert: p50 {ms(percentile(bare, 50))}  "
                    f"p99 {ms(percentile(bare, 99))}  (the outbox's cost: "
                    f"{ms(w50 - percentile(bare, 50))} at p50)"
                )
                say(
                    f"  database write (raw driver transaction, same shape): p50 {ms(w50)}  "
                    f"p99 {ms(percentile(writes, 99))}  max {ms(max(writes))}"
                )
                writer, pids = api, {"api": api_proc.process.pid}
                if split:
                    # purchases through a second API process; the sockets stay on the first
                    writes_proc = api_server(mongo_uri, redis.url, secret)
                    servers.append(writes_proc)
                    writer = Api(http, writes_proc.port, token, till)
                    writer.ws_url = api.ws_url
                    pids = {"api (sockets)": api_proc.process.pid}
                    pids["api (writes)"] = writes_proc.process.pid
                    say("  purchases through a second API process; the sockets on the first")
                for rate in rates:
                    say(f"  at {rate} purchases/s:")
                    result = await mixed(
                        writer,
                        functools.partial(none_subscribed, http, api_proc.port),
                        functools.partial(all_subscribed, http, api_proc.port),
                        functools.partial(api_counters, http, writer.port),
                        functools.partial(server_top, mongo_uri),
                        token,
                        members,
                        sizes.mixed_subscribers,
                        rate,
                        sizes.mixed_seconds,
                        pids
                        | {"mongo": mongo.pid}
                        | ({"redis": redis.process.pid} if redis.process else {}),
                    )
                    lat: list[float] = result["latencies"]
                    say(
                        f"  {result['purchases']} purchases at {result['rate']:.0f}/s "
                        f"({result['failures']} failed, {result['skipped']} slots skipped with "
                        f"{IN_FLIGHT} in flight), {len(lat)} pushes timed on "
                        f"{result['sockets']} sockets (started when the earlier phase's sockets "
                        f"had gone, {result['emptied_after']:.1f} s, and all of these were "
                        f"subscribed, {result['subscribed_after']:.1f} s after they connected)"
                    )
                    if lat:
                        say(
                            f"  push latency  p50 {ms(percentile(lat, 50))}  p99 "
                            f"{ms(percentile(lat, 99))}  max {ms(max(lat))}"
                        )
                        say(
                            f"  minus the write p50  p50 {ms(percentile(lat, 50) - w50)}  p99 "
                            f"{ms(percentile(lat, 99) - w50)}  max {ms(max(lat) - w50)}"
                        )
                    say(
                        f"  CPU over the {result['elapsed']:.1f} s of purchases: "
                        + ", ".join(f"{k} {v:.2f} s" for k, v in result["cpu"].items())
                    )
                    counted: dict[str, tuple[float, float]] = result["api_counted"]
                    commands = sorted(
                        (
                            (key[3:], total, count)
                            for key, (total, count) in counted.items()
                            if key.startswith("db ") and not key.endswith(" failed") and count
                        ),
                        key=lambda row: -row[2],
                    )
                    say(
                        "  database commands of the purchases' API, as its driver timed them: "
                        + ", ".join(
                            f"{command} {int(count)} x {ms(total / count).strip()}"
                            for command, total, count in commands[:4]
                        )
                    )
                    failed = [
                        f"{key[3:-7]} {int(count)}"
                        for key, (_, count) in counted.items()
                        if key.startswith("db ") and key.endswith(" failed") and count
                    ]
                    say(f"  failed database commands: {', '.join(failed) or 'none'}")
                    say(
                        "  the API's garbage collector: "
                        + ", ".join(
                            f"generation {g}: {int(counted.get(f'gc {g}', (0, 0))[1])} "
                            f"collections, {ms(counted.get(f'gc {g}', (0, 0))[0]).strip()} in all, "
                            f"{int(counted.get(f'gc {g} over 0.1 s', (0, 0))[1])} over 100 ms"
                            for g in ("0", "1", "2")
                        )
                    )
                    spent = sorted(result["db_server"].items(), key=lambda kv: -kv[1][0])
                    say(
                        "  the database server's own time by collection (its `top`): "
                        f"{sum(t for t, _ in result['db_server'].values()):.2f} s in all; "
                        + ", ".join(
                            f"{namespace} {int(count)} x {ms(total / count).strip()}"
                            for namespace, (total, count) in spent[:5]
                            if count
                        )
                    )
                    responses: list[float] = result["responses"]
                    say(
                        f"  mutation round trip  p50 {ms(percentile(responses, 50))}  p99 "
                        f"{ms(percentile(responses, 99))}  max {ms(max(responses))}"
                    )
                    say(
                        f"  checked every socket: out of order {result['out_of_order']}, lost "
                        f"{result['lost']}, coalesced catch-ups {result['coalesced']}, "
                        f"sockets with a close or an error message {len(result['notes'])}"
                    )
                    for line in result["lost_detail"] + [n for _, n in result["notes"][:5]]:
                        say(f"    {line}")
                await writer.close()
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
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",") if r.strip()]
    sizes = QUICK if args.quick else FULL
    asyncio.run(run(sizes, args.quick, set(args.phases), args.split, rates))


if __name__ == "__main__":
    main()
