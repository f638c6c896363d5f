"""The mixed load of the delivery benchmark (phase 3 of bench_delivery.py): S subscribers over
M members while purchases arrive at R/s, every version checked on every socket, with what each
process spent meanwhile.

`--split` sends the purchases through a second API process (the sockets stay on the first);
`--workers N` runs this phase on an API of N worker processes (`WORKERS=N`) sharing one port.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
from bench_procs import cpu_seconds, self_cpu_seconds
from bench_stats import percentile
from delivery_rig import (
    Api,
    Rig,
    Server,
    all_subscribed,
    api_server,
    clients,
    ms,
    none_subscribed,
    say,
)
from pymongo import AsyncMongoClient
from ws_clients import Record

IN_FLIGHT = 16  # purchases outstanding at most


async def mixed_phase(
    rig: Rig,
    subscribers: int,
    members_count: int,
    seconds: float,
    rates: list[int],
    split: bool,
    workers: int,
) -> list[str]:
    """Phase 3, one run per rate on the same processes; returns the members it enrolled."""
    say(
        f"(3) mixed load: {subscribers} subscribers over {members_count} members, "
        f"{', '.join(map(str, rates))} purchases/s for {seconds:.0f} s each; purchases as a "
        f"till sends them (a POS token, raw keep-alive HTTP, at most {IN_FLIGHT} in flight)"
    )
    api, api_proc = rig.api, rig.api_proc
    started: list[Server] = []
    if workers > 1:
        api_proc = api_server(rig.mongo_uri, rig.redis.url, rig.secret, WORKERS=str(workers))
        started.append(api_proc)
        api = Api(rig.http, api_proc.port, rig.token, rig.till)
        say(f"  the API as {workers} worker processes sharing one port (WORKERS={workers})")
    try:
        return await _rates(rig, api, api_proc, subscribers, members_count, seconds, rates, split)
    finally:
        for server in started:
            server.stop()


async def _rates(
    rig: Rig,
    api: Api,
    api_proc: Server,
    subscribers: int,
    members_count: int,
    seconds: float,
    rates: list[int],
    split: bool,
) -> list[str]:
    began = time.monotonic()
    members = await api.enroll(members_count)
    say(f"  enrolled {len(members)} members in {time.monotonic() - began:.1f} s")
    bare = await db_write_times(rig.mongo_uri, 200, outbox=False)
    writes = await db_write_times(rig.mongo_uri, 200)
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
    api_pids = api_proc.worker_pids()
    pids = (
        {"api": api_proc.process.pid}
        if not api_pids
        else {f"api worker {n + 1}": pid for n, pid in enumerate(api_pids)}
    )
    writer = api
    if split:
        # purchases through a second API process; the sockets stay on the first
        writes_proc = api_server(rig.mongo_uri, rig.redis.url, rig.secret)
        rig.servers.append(writes_proc)
        writer = Api(rig.http, writes_proc.port, rig.token, rig.till)
        writer.ws_url = api.ws_url
        pids = {f"{name} (sockets)": pid for name, pid in pids.items()}
        pids["api (writes)"] = writes_proc.process.pid
        say("  purchases through a second API process; the sockets on the first")
    for rate in rates:
        say(f"  at {rate} purchases/s:")
        result = await mixed(
            writer,
            functools.partial(none_subscribed, rig.http, api_proc.port),
            functools.partial(all_subscribed, rig.http, api_proc.port),
            functools.partial(api_counters, rig.http, writer.port),
            functools.partial(server_top, rig.mongo_uri),
            rig.token,
            members,
            subscribers,
            rate,
            seconds,
            pids
            | {"mongo": rig.mongo_pid}
            | ({"redis": rig.redis.process.pid} if rig.redis.process else {}),
        )
        report(result, w50)
    await writer.close()
    return members


def report(result: dict[str, Any], w50: float) -> None:
    """What one rate's run printed (w50: the raw driver transaction's p50)."""
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
