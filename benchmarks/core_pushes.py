"""Phase (b) of the core benchmark (bench.py): purchase -> push latency to WebSocket
subscribers (graphql-transport-ws), to the first and to the last of each member's
subscribers."""

from __future__ import annotations

import asyncio
import json
import math
import random
import secrets
import time
from dataclasses import dataclass, field

from bench_http import GraphQLClient
from bench_procs import ServiceProcess, rss_mib
from bench_stats import MACHINE, ms, percentile, ratio
from core_config import HOST, MEMBER_UPDATED, PURCHASE, STORE, Params, say
from core_measure import Meter
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol


@dataclass
class Subscriber:
    member_id: str
    ws: ClientConnection
    version: int
    arrivals: asyncio.Queue[tuple[int, float]] = field(default_factory=asyncio.Queue)
    problems: list[str] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


async def receive(sub: Subscriber) -> None:
    """Timestamps every `next` as soon as this client's event loop reads it."""
    try:
        async for raw in sub.ws:
            at = time.perf_counter()
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "next":
                payload = message.get("payload") or {}
                update = (payload.get("data") or {}).get("memberUpdated")
                if update is None:
                    sub.problems.append(json.dumps(payload)[:300])
                    sub.arrivals.put_nowait((-1, at))
                else:
                    sub.arrivals.put_nowait((int(update["version"]), at))
            elif kind == "ping":
                await sub.ws.send('{"type":"pong"}')
            elif kind in ("error", "complete"):
                sub.problems.append(json.dumps(message)[:300])
                sub.arrivals.put_nowait((-1, at))
    except Exception as exc:  # the socket closed under us: record it, the sampler notices
        sub.problems.append(f"{type(exc).__name__}: {exc}")


async def subscribe(ws_url: str, token: str, member_id: str, timeout: float) -> Subscriber:
    ws = await connect(
        ws_url,
        subprotocols=[Subprotocol("graphql-transport-ws")],
        ping_interval=None,  # the server pings every 20 s; this client answers
        open_timeout=timeout,
        close_timeout=5,
    )
    try:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await ws.send(json.dumps(init))
        ack = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"no connection_ack: {ack}")
        # sinceVersion 0: the server answers at once with the current state, which proves the
        # stream is subscribed to the bus (it subscribes before it reads).
        variables = {"memberId": member_id, "sinceVersion": 0}
        subscribe_message = {
            "id": "1",
            "type": "subscribe",
            "payload": {"query": MEMBER_UPDATED, "variables": variables},
        }
        await ws.send(json.dumps(subscribe_message))
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            if message.get("type") == "ping":
                await ws.send('{"type":"pong"}')
                continue
            if message.get("type") != "next":
                raise RuntimeError(f"subscription refused: {json.dumps(message)[:300]}")
            update = message["payload"]["data"]["memberUpdated"]
            break
    except BaseException:
        await ws.close()
        raise
    sub = Subscriber(member_id, ws, int(update["version"]))
    sub.task = asyncio.create_task(receive(sub))
    return sub


@dataclass
class PushFigures:
    bus: str
    subscribers: int
    members: int
    connect_seconds: float
    rss_before: float
    rss_after: float
    open_gauge: float | None
    samples: int
    first: list[float]
    last: list[float]
    mutation: list[float]
    after_response: list[float]
    missing: int
    wrong_version: int
    problems: list[str]


async def bench_pushes(
    p: Params, service: ServiceProcess, bus: str, token: str, ids: list[str], meter: Meter
) -> PushFigures:
    rng = random.Random(7)
    members = rng.sample(ids, p.subscribed_members)
    per_member = p.subscribers // p.subscribed_members
    say(
        f"\n(b) purchase -> push, {p.subscribers} WebSocket subscribers over {len(members)} "
        f"members ({per_member} per member, one process), bus: {bus}"
    )
    ws_url = f"ws://{HOST}:{service.port}/graphql"
    rss_before = rss_mib(service.pid)
    gate = asyncio.Semaphore(32)
    subscribers: list[Subscriber] = []

    async def open_one(member_id: str) -> None:
        async with gate:
            subscribers.append(await subscribe(ws_url, token, member_id, 30))

    began = time.perf_counter()
    opening = [open_one(m) for m in members for _ in range(per_member)]
    outcomes = await asyncio.gather(*opening, return_exceptions=True)
    connect_seconds = time.perf_counter() - began
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    gauge = service.metric("subscriptions_open")
    rss_after = rss_mib(service.pid)
    say(
        f"  opened {len(subscribers)} subscriptions in {connect_seconds:.1f} s "
        f"({len(subscribers) / connect_seconds:.0f}/s); failures {len(failures)}"
        + (f" (first: {failures[0]!r})" if failures else "")
    )
    per_sub = (rss_after - rss_before) * 1024 / max(1, len(subscribers))
    say(
        f"  server: subscriptions_open gauge {gauge}, RSS {rss_before:.0f} -> {rss_after:.0f} "
        f"MiB ({per_sub:.0f} KiB per subscription)"
    )

    by_member: dict[str, list[Subscriber]] = {}
    for sub in subscribers:
        by_member.setdefault(sub.member_id, []).append(sub)
    complete = [m for m in members if len(by_member.get(m, [])) == per_member]
    sample = rng.sample(complete, min(p.push_samples, len(complete)))
    gql = GraphQLClient(HOST, service.port, token)
    first: list[float] = []
    last: list[float] = []
    mutation: list[float] = []
    after_response: list[float] = []  # last push minus the mutation's response time
    missing = 0
    wrong_version = 0
    before = await meter.sample()
    started = time.perf_counter()
    try:
        for number, member_id in enumerate(sample):
            variables = {
                "input": {
                    "memberId": member_id,
                    "amount": "20.00",
                    "currencyCode": "EUR",
                    "channel": "POS",
                    "storeId": STORE,
                    "orderId": f"push-{number}-{secrets.token_hex(4)}",
                    "idempotencyKey": f"push-{number}-{secrets.token_hex(8)}",
                }
            }
            t0 = time.perf_counter()
            answer = await gql.execute(PURCHASE, variables)
            mutation.append(time.perf_counter() - t0)
            payload = answer["data"]["recordPurchase"]
            if payload["userErrors"]:
                raise RuntimeError(f"recordPurchase userErrors: {payload['userErrors']}")
            version = int(payload["member"]["version"])
            arrived: list[float] = []
            for sub in by_member[member_id]:
                # Skip anything older (a catch-up), stop at this version or a timeout.
                while True:
                    left = t0 + p.push_timeout - time.perf_counter()
                    try:
                        got, at = await asyncio.wait_for(sub.arrivals.get(), max(left, 0.001))
                    except TimeoutError:
                        missing += 1
                        break
                    if got == version:
                        arrived.append(at - t0)
                        break
                    if got > version or got < 0:
                        wrong_version += 1
                        break
            if arrived:
                first.append(min(arrived))
            if len(arrived) == per_member:
                last.append(max(arrived))
                after_response.append(max(arrived) - mutation[-1])
    finally:
        await gql.close()
        elapsed = time.perf_counter() - started
        usage = (await meter.sample()).minus(before)
        own = {k: v for k, v in usage.cpu.items() if k != MACHINE}
        others = usage.cpu.get(MACHINE, 0.0) - sum(own.values())
        say(
            f"  {len(sample)} purchases one at a time in {elapsed:.1f} s; CPU over that time: "
            + ", ".join(f"{k} {v:.2f} s" for k, v in own.items())
            + f", other processes {max(0.0, others):.2f} s"
        )
        closing = time.perf_counter()
        await asyncio.gather(
            *(asyncio.wait_for(s.ws.close(), 10) for s in subscribers), return_exceptions=True
        )
        for s in subscribers:
            if s.task is not None:
                s.task.cancel()
        await asyncio.gather(*(s.task for s in subscribers if s.task), return_exceptions=True)
        say(f"  closed the sockets in {time.perf_counter() - closing:.1f} s")
    problems = [f"{s.member_id}: {msg}" for s in subscribers for msg in s.problems]
    figures = PushFigures(
        bus=bus,
        subscribers=len(subscribers),
        members=len(members),
        connect_seconds=connect_seconds,
        rss_before=rss_before,
        rss_after=rss_after,
        open_gauge=gauge,
        samples=len(sample),
        first=first,
        last=last,
        mutation=mutation,
        after_response=after_response,
        missing=missing,
        wrong_version=wrong_version,
        problems=problems,
    )
    print_pushes(figures)
    return figures


def spread(values: list[float]) -> str:
    worst = max(values) if values else math.nan
    return (
        f"p50 {ms(percentile(values, 50))} ms   p99 {ms(percentile(values, 99))} ms   "
        f"max {ms(worst)} ms   n={len(values)}"
    )


def print_pushes(f: PushFigures) -> None:
    say(f"  recordPurchase response          {spread(f.mutation)}")
    say(f"  push to the FIRST subscriber     {spread(f.first)}")
    say(f"  push to the LAST subscriber      {spread(f.last)}")
    say(f"  last push minus own response     {spread(f.after_response)}")
    say("    (negative: the pushes reached both sockets before the HTTP response was read)")
    if f.first and f.mutation:
        say(
            f"  ratio push-to-last / mutation response: p50 "
            f"{ratio(percentile(f.last, 50), percentile(f.mutation, 50))}"
        )
    say(
        f"  pushes missing after the timeout: {f.missing}; wrong or error messages: "
        f"{f.wrong_version}; subscription problems: {len(f.problems)}"
    )
    for problem in f.problems[:5]:
        say(f"    ! {problem}")
