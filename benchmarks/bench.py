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
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import importlib.metadata
import json
import math
import os
import platform
import random
import resource
import secrets
import signal
import socket
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from bench_http import GraphQLClient, HttpConnection, HttpError
from bench_procs import (
    EmbeddedMongoProcess,
    ServiceConfig,
    ServiceProcess,
    cpu_seconds,
    find_process,
    import_service,
    machine_busy_seconds,
    rss_mib,
    self_cpu_seconds,
)
from bench_stats import (
    MACHINE,
    LoadResult,
    Usage,
    closed_loop,
    describe_counts,
    ms,
    percentile,
    ratio,
)
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

Doc = dict[str, Any]

HOST = "127.0.0.1"
REDIS_URL = "redis://127.0.0.1:6379/0"
DATABASE = "loyalty_bench"
STORE = "store-001"


@dataclass(frozen=True)
class Params:
    members: int
    read_clients: int
    read_seconds: float
    stack_seconds: float
    write_clients: int
    write_members_per_client: int
    write_seconds: float
    warmup_seconds: float
    subscribers: int
    subscribed_members: int
    push_samples: int
    push_timeout: float
    seed_clients: int
    budget_seconds: float


FULL = Params(
    members=1000,
    read_clients=32,
    read_seconds=15,
    stack_seconds=5,
    write_clients=8,
    write_members_per_client=4,
    write_seconds=15,
    warmup_seconds=2,
    subscribers=1000,
    subscribed_members=500,
    push_samples=200,
    push_timeout=5.0,
    seed_clients=8,
    budget_seconds=285,
)

QUICK = Params(
    members=150,
    read_clients=32,
    read_seconds=3,
    stack_seconds=1.5,
    write_clients=8,
    write_members_per_client=2,
    write_seconds=3,
    warmup_seconds=0.5,
    subscribers=200,
    subscribed_members=100,
    push_samples=40,
    push_timeout=3.0,
    seed_clients=8,
    budget_seconds=57,
)

ENROLL = """mutation Enroll($input: EnrollMemberInput!) {
  enrollMember(input: $input) { member { id version } userErrors { code message field } }
}"""

MEMBER_READ = """query MemberRead($id: ID!) {
  member(id: $id) {
    id
    version
    profile {
      firstName lastName email phone birthday preferredChannel preferredStoreId
      consents { email sms push personalization }
    }
    balance { available pending lifetime }
    tier { current { id name } next { id name } qualifyingPoints pointsToNext progress since }
  }
}"""

MEMBER_ID_ONLY = "query MemberId($id: ID!) { member(id: $id) { id } }"
TYPENAME = "query Typename { __typename }"

PURCHASE = """mutation Purchase($input: RecordPurchaseInput!) {
  recordPurchase(input: $input) {
    member { id version balance { available } }
    userErrors { code message field }
  }
}"""

MEMBER_UPDATED = """subscription Updates($memberId: ID!, $sinceVersion: Int) {
  memberUpdated(memberId: $memberId, sinceVersion: $sinceVersion) {
    version changes member { balance { available } }
  }
}"""

FIRST_NAMES = ["Ann", "Bram", "Chloe", "Daan", "Eva", "Finn", "Gina", "Hugo", "Iris", "Jens"]
LAST_NAMES = ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Bos"]


def say(text: str = "") -> None:
    print(text, flush=True)


# --------------------------------------------------------------------------- environment


def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def memory_total() -> str:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def redis_version() -> str | None:
    """The Redis server's version, or None when nothing answers on 127.0.0.1:6379."""
    try:
        with socket.create_connection((HOST, 6379), timeout=2) as s:
            s.sendall(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
            data = b""
            while b"redis_version:" not in data or not data.endswith(b"\r\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                if len(data) > 1 << 20:
                    break
    except OSError:
        return None
    for line in data.decode("latin-1").splitlines():
        if line.startswith("redis_version:"):
            return line.split(":", 1)[1].strip()
    return "unknown version"


def header(args: argparse.Namespace, redis: str | None) -> None:
    say("member-state API benchmark" + (" (--quick)" if args.quick else ""))
    say(f"date        {datetime.now(UTC).isoformat(timespec='seconds')}")
    say(f"machine     {platform.platform()} ({platform.machine()})")
    say(f"cpus        {os.cpu_count()}    memory {memory_total()}")
    say(f"python      {platform.python_implementation()} {platform.python_version()}")
    names = [
        "pymongo",
        "strawberry-graphql",
        "secantusdb",
        "starlette",
        "uvicorn",
        "websockets",
        "redis",
        "broadcaster",
        "uvloop",
    ]
    say("packages    " + ", ".join(f"{n} {package_version(n)}" for n in names))
    say(f"redis       {f'server {redis} on {REDIS_URL}' if redis else 'not reachable'}")
    command = " ".join([os.path.relpath(sys.executable), *sys.argv])
    say(f"command     {command}   (cwd {os.getcwd()})")
    loop = type(asyncio.get_running_loop())
    say(
        f"client      this process: one event loop ({loop.__module__}.{loop.__name__}), "
        "a raw HTTP/1.1 keep-alive client (bench_http.py), the websockets client, pymongo"
    )
    say("server      one `app.py serve` process (one uvicorn worker), LOG_LEVEL=WARNING")


def raise_file_limit(wanted: int) -> str:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return f"file limit {soft} (enough)"
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return f"file limit raised {soft} -> {target}"


def admin_token(secret: str) -> str:
    """An ADMIN token signed with this run's AUTH_SECRET (the service refuses to serve a
    database given by MONGODB_URI with the development secret)."""
    auth = import_service("api.auth")
    access = import_service("resolvers.access")
    settings = import_service("settings").Settings(auth_secret=secret)
    token: str = auth.issue(
        settings.auth_secret.get_secret_value(),
        settings.auth_issuer,
        audience=settings.auth_audience,
        subject="bench",
        role=access.Role.ADMIN,
    )
    return token


# --------------------------------------------------------------------------- measuring


class Meter:
    """Samples CPU time of the API process, the database and this client, and db opcounters."""

    def __init__(self, mongo: AsyncMongoClient[Doc], mongo_pid: int) -> None:
        self._mongo = mongo
        self._mongo_pid = mongo_pid
        self.api_pid: int | None = None
        self.redis_pid: int | None = None

    async def sample(self) -> Usage:
        cpu: dict[str, float] = {}
        if self.api_pid is not None:
            cpu["api"] = cpu_seconds(self.api_pid)
        cpu["mongo"] = cpu_seconds(self._mongo_pid)
        if self.redis_pid is not None:
            with contextlib.suppress(OSError):
                cpu["redis"] = cpu_seconds(self.redis_pid)
        cpu["client"] = self_cpu_seconds()
        cpu[MACHINE] = machine_busy_seconds()
        db_ops: dict[str, int] = {}
        with contextlib.suppress(Exception):
            status = await self._mongo.admin.command("serverStatus")
            db_ops = {k: int(v) for k, v in status.get("opcounters", {}).items()}
        return Usage(cpu, db_ops)


async def measured(
    name: str,
    clients: int,
    seconds: float,
    warmup: float,
    operation: Callable[[int], Awaitable[bool]],
    meter: Meter,
) -> LoadResult:
    if warmup > 0:
        await closed_loop(name + " (warm-up)", clients, warmup, operation, meter.sample)
    result = await closed_loop(name, clients, seconds, operation, meter.sample)
    say(result.line())
    say(result.cost_line())
    return result


def compare(label: str, api: LoadResult, floor: LoadResult) -> None:
    say(
        f"  ratio {label}: throughput {ratio(api.rate, floor.rate)} of the driver's, "
        f"latency p50 {ratio(api.p50, floor.p50)}, p99 {ratio(api.p99, floor.p99)} the driver's"
    )


# --------------------------------------------------------------------------- seeding


async def seed_members(port: int, token: str, count: int, clients: int, run: str) -> list[str]:
    ids: list[str | None] = [None] * count
    next_index = 0
    problems: list[str] = []

    async def worker(worker_id: int) -> None:
        nonlocal next_index
        rng = random.Random(worker_id)
        gql = GraphQLClient(HOST, port, token)
        try:
            while next_index < count and not problems:
                i = next_index
                next_index += 1
                data: Doc = {
                    "identifiers": [{"kind": "EMAIL", "value": f"bench-{run}-{i}@example.com"}],
                    "firstName": rng.choice(FIRST_NAMES),
                    "lastName": rng.choice(LAST_NAMES),
                    "channel": "POS",
                    "storeId": STORE,
                    "consents": {"email": True, "push": rng.random() < 0.5},
                }
                if i % 3 == 0:
                    data["birthday"] = f"19{70 + i % 30}-0{1 + i % 9}-1{i % 10}"
                answer = await gql.execute(ENROLL, {"input": data})
                payload = answer["data"]["enrollMember"]
                if payload["userErrors"] or payload["member"] is None:
                    problems.append(json.dumps(payload["userErrors"]))
                    return
                ids[i] = payload["member"]["id"]
        finally:
            await gql.close()

    await asyncio.gather(*(worker(w) for w in range(clients)))
    if problems:
        raise RuntimeError(f"enrollMember returned userErrors: {problems[0]}")
    return [i for i in ids if i is not None]


# --------------------------------------------------------------------------- (a) reads


@dataclass
class ReadFigures:
    api: LoadResult
    floor: LoadResult
    stack: list[LoadResult] = field(default_factory=list)


async def bench_reads(
    p: Params,
    port: int,
    token: str,
    ids: list[str],
    members: AsyncCollection[Doc],
    meter: Meter,
) -> ReadFigures:
    n = p.read_clients
    say(
        f"\n(a) member read, {n} concurrent clients, {p.read_seconds:g} s each after a "
        f"{p.warmup_seconds:g} s warm-up, random member of {len(ids)} per request"
    )
    clients = [GraphQLClient(HOST, port, token) for _ in range(n)]
    plain = [HttpConnection(HOST, port) for _ in range(n)]
    rngs = [random.Random(1000 + i) for i in range(n)]

    # Sanity: the GraphQL answer and the driver's document describe the same member.
    probe = ids[0]
    answer = (await clients[0].execute(MEMBER_READ, {"id": probe}))["data"]["member"]
    document = await members.find_one({"_id": probe})
    if answer is None or document is None or answer["version"] != document["version"]:
        raise RuntimeError(f"GraphQL and the driver disagree on {probe}: {answer} / {document}")

    async def healthz(i: int) -> bool:
        status, _ = await plain[i].request("GET", "/healthz")
        return status == 200

    async def typename(i: int) -> bool:
        status, body = await clients[i].execute_raw(TYPENAME, {})
        return status == 200 and b'"errors"' not in body

    async def member_id_only(i: int) -> bool:
        member_id = rngs[i].choice(ids)
        status, body = await clients[i].execute_raw(MEMBER_ID_ONLY, {"id": member_id})
        return status == 200 and member_id.encode() in body and b'"errors"' not in body

    async def graphql_read(i: int) -> bool:
        member_id = rngs[i].choice(ids)
        status, body = await clients[i].execute_raw(MEMBER_READ, {"id": member_id})
        if status != 200:
            return False
        decoded = json.loads(body)
        member = (decoded.get("data") or {}).get("member")
        return not decoded.get("errors") and member is not None and member["id"] == member_id

    async def driver_read(i: int) -> bool:
        member_id = rngs[i].choice(ids)
        document = await members.find_one({"_id": member_id})
        return document is not None and document["_id"] == member_id

    w = p.warmup_seconds
    try:
        api = await measured(
            "GraphQL member(id) {profile balance tier}", n, p.read_seconds, w, graphql_read, meter
        )
        floor = await measured("driver find_one({_id})", n, p.read_seconds, w, driver_read, meter)
        compare("GraphQL/driver", api, floor)
        say("  where the time goes (same clients, shorter runs):")
        short = min(1.0, w)
        stack = [
            await measured(
                "GET /healthz (HTTP stack only)", n, p.stack_seconds, short, healthz, meter
            ),
            await measured(
                "GraphQL { __typename } (no data)", n, p.stack_seconds, short, typename, meter
            ),
            await measured(
                "GraphQL member(id) { id } (one read)",
                n,
                p.stack_seconds,
                short,
                member_id_only,
                meter,
            ),
        ]
    finally:
        for c in clients:
            await c.close()
        for h in plain:
            await h.close()
    say(await validation_diagnostic())
    return ReadFigures(api, floor, stack)


async def validation_diagnostic(rounds: int = 200) -> str:
    """In this process (the server is not touched): are validation results reused?

    Executes `{ __typename }` on schema.build.build_schema() and reads the hit counter of the
    schema's strawberry ValidationCache; then the same with the rule classes of
    QueryDepthLimiter and MaxAliasesLimiter created once instead of per request (patched here
    for the measurement and restored); then times graphql-core's validate() of the two
    documents the benchmark sends most. Times are this thread's CPU time, so other processes
    taking the core do not inflate them. Internal APIs: any failure prints n/a.
    """
    try:
        build = import_service("schema.build").build_schema
        graphql = import_service("graphql")
        cache_module = import_service("strawberry.extensions.validation_cache")
        limiters = [
            import_service("strawberry.extensions.query_depth_limiter"),
            import_service("strawberry.extensions.max_aliases"),
        ]
        context = argparse.Namespace(viewer=object(), request_id="bench")

        async def executions(schema: Any) -> str:
            caches = [
                e.cached_validate_document
                for e in (factory() for factory in schema.extensions)
                if isinstance(e, cache_module.ValidationCache)
            ]
            if not caches:
                return "the schema has no ValidationCache"
            before = caches[0].cache_info()
            began = time.thread_time()
            for _ in range(rounds):
                result = await schema.execute(TYPENAME, context_value=context)
                if result.errors:
                    raise RuntimeError(str(result.errors))
            each = (time.thread_time() - began) / rounds
            after = caches[0].cache_info()
            return (
                f"ValidationCache hits {after.hits - before.hits} / misses "
                f"{after.misses - before.misses} over {rounds} executions of "
                f"{{ __typename }}, {each * 1000:.2f} ms CPU each"
            )

        served = await executions(build())
        originals = [m.create_validator for m in limiters]
        try:
            for module, original in zip(limiters, originals, strict=True):
                module.create_validator = functools.cache(original)
            stable = await executions(build())
        finally:
            for module, original in zip(limiters, originals, strict=True):
                module.create_validator = original
        schema = build()
        timings = []
        for label, text in (("member read", MEMBER_READ), ("recordPurchase", PURCHASE)):
            document = graphql.parse(text)
            began = time.thread_time()
            for _ in range(rounds // 2):
                graphql.validate(schema._schema, document)
            timings.append(f"{label} {(time.thread_time() - began) / (rounds // 2) * 1000:.2f} ms")
    except Exception as exc:
        return f"  validation diagnostic: n/a ({type(exc).__name__}: {exc})"
    return (
        "  validation diagnostic (in the benchmark process, not the server):\n"
        f"    schema.build.build_schema() as served: {served}\n"
        f"    same, limiter rule classes created once (patched here only): {stable}\n"
        f"    graphql validate() alone, CPU per call: {', '.join(timings)}"
    )


# --------------------------------------------------------------------------- (c) writes


@dataclass
class WriteFigures:
    api: LoadResult
    floor: LoadResult
    floor_retries: int
    consistency: str


async def bench_writes(
    p: Params,
    port: int,
    token: str,
    ids: list[str],
    client: AsyncMongoClient[Doc],
    meter: Meter,
    run: str,
) -> WriteFigures:
    n = p.write_clients
    k = p.write_members_per_client
    owned = [ids[i * k : (i + 1) * k] for i in range(n)]
    say(
        f"\n(c) recordPurchase, {n} concurrent clients, each on its own {k} members, "
        f"{p.write_seconds:g} s each after a {p.warmup_seconds:g} s warm-up"
    )
    db = client[DATABASE]
    start_versions = {
        d["_id"]: d["version"]
        async for d in db["members"].find({"_id": {"$in": [m for o in owned for m in o]}})
    }
    successes: dict[str, int] = dict.fromkeys(start_versions, 0)
    clients = [GraphQLClient(HOST, port, token) for _ in range(n)]
    counters = [0] * n
    user_errors: dict[str, int] = {}

    async def graphql_purchase(i: int) -> bool:
        counters[i] += 1
        member_id = owned[i][counters[i] % k]
        key = f"{run}-c{i}-{counters[i]}"
        variables = {
            "input": {
                "memberId": member_id,
                "amount": "12.50",
                "currencyCode": "EUR",
                "channel": "POS",
                "storeId": STORE,
                "orderId": f"order-{key}",
                "idempotencyKey": key,
            }
        }
        status, body = await clients[i].execute_raw(PURCHASE, variables)
        if status != 200:
            return False
        decoded = json.loads(body)
        payload = (decoded.get("data") or {}).get("recordPurchase")
        if decoded.get("errors") or payload is None:
            return False
        if payload["userErrors"]:
            code = payload["userErrors"][0]["code"]
            user_errors[code] = user_errors.get(code, 0) + 1
            return False
        successes[member_id] += 1
        return True

    # The floor works on copies of the same member documents, in collections of its own with
    # the ledger's indexes, so the service's data stays as the service wrote it.
    floor_members = db["floor_members"]
    floor_ledger = db["floor_ledger"]
    await floor_members.drop()
    await floor_ledger.drop()
    await floor_ledger.create_indexes(
        [
            IndexModel([("memberId", ASCENDING), ("seq", DESCENDING)], name="member_seq"),
            IndexModel([("memberId", ASCENDING), ("orderId", ASCENDING)], name="member_order"),
        ]
    )
    copies = [d async for d in db["members"].find({"_id": {"$in": list(start_versions)}})]
    await floor_members.insert_many(copies)
    floor_counters = [0] * n
    attempts = [0]
    commits = [0]

    async def driver_purchase(i: int) -> bool:
        floor_counters[i] += 1
        member_id = owned[i][floor_counters[i] % k]
        points = 12
        now = datetime.now(UTC)

        async def transaction(session: AsyncClientSession) -> None:
            attempts[0] += 1
            result = await floor_members.update_one(
                {"_id": member_id},
                {
                    "$inc": {
                        "version": 1,
                        "balance.available": points,
                        "balance.lifetime": points,
                        "tier.qualifyingPoints": points,
                    },
                    "$set": {"lastActivityAt": now},
                },
                session=session,
            )
            if result.matched_count != 1:
                raise RuntimeError(f"floor member {member_id} missing")
            await floor_ledger.insert_one(
                {
                    "_id": f"led_{secrets.token_hex(12)}",
                    "memberId": member_id,
                    "seq": floor_counters[i],
                    "kind": "EARN",
                    "points": points,
                    "channel": "POS",
                    "storeId": STORE,
                    "description": "Purchase",
                    "occurredAt": now,
                    "recordedAt": now,
                    "status": "AVAILABLE",
                    "actor": "bench",
                    "orderId": f"floor-{run}-{i}-{floor_counters[i]}",
                },
                session=session,
            )

        async with client.start_session() as session:
            await session.with_transaction(transaction)
        commits[0] += 1
        return True

    w = p.warmup_seconds
    try:
        api = await measured(
            "GraphQL recordPurchase", n, p.write_seconds, w, graphql_purchase, meter
        )
        if user_errors:
            say(f"  ! userErrors: {describe_counts(user_errors)}")
        floor = await measured(
            "driver txn update_one $inc + insert_one",
            n,
            p.write_seconds,
            w,
            driver_purchase,
            meter,
        )
        compare("GraphQL/driver", api, floor)
        say(
            f"  driver transactions: {attempts[0]} callback runs for {commits[0]} commits "
            f"(warm-up included): {attempts[0] - commits[0]} retried by with_transaction"
        )
    finally:
        for c in clients:
            await c.close()

    # Every acknowledged purchase raised its member's version by one and wrote one entry.
    problems: list[str] = []
    async for d in db["members"].find({"_id": {"$in": list(start_versions)}}):
        raised = d["version"] - start_versions[d["_id"]]
        if raised != successes[d["_id"]]:
            problems.append(f"{d['_id']}: version +{raised}, {successes[d['_id']]} acknowledged")
    entries = await db["ledger"].count_documents({"memberId": {"$in": list(start_versions)}})
    acknowledged = sum(successes.values())
    consistency = (
        f"{acknowledged} acknowledged purchases (warm-up included), member versions "
        + ("match" if not problems else f"DO NOT match: {problems[:3]}")
        + f", {entries} ledger entries for these members"
    )
    say(f"  check: {consistency}")
    return WriteFigures(api, floor, attempts[0] - commits[0], consistency)


# --------------------------------------------------------------------------- (b) pushes


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


# --------------------------------------------------------------------------- orchestration


class Owned:
    """Processes started by this run, stopped in reverse order whatever happens."""

    def __init__(self) -> None:
        self.services: list[ServiceProcess] = []
        self.mongo: EmbeddedMongoProcess | None = None

    def stop_all(self) -> None:
        while self.services:
            service = self.services.pop()
            service.stop()
        if self.mongo is not None:
            self.mongo.stop()
            self.mongo = None


def start_service(owned: Owned, config: ServiceConfig) -> ServiceProcess:
    service = ServiceProcess(config)
    owned.services.append(service)
    seconds = service.start()
    say(
        f"\nAPI server [{config.label}] pid {service.pid} on 127.0.0.1:{service.port}, "
        f"bus {'Redis ' + config.redis_url if config.redis_url else 'in-memory'}, "
        f"ready after {seconds:.1f} s"
    )
    return service


def stop_service(owned: Owned, service: ServiceProcess) -> None:
    code = service.stop()
    owned.services.remove(service)
    problems = service.log_problems()
    say(
        f"API server [{service.config.label}] stopped (exit {code}); logged problems: "
        f"{describe_counts(problems)}; log {service.log_path}"
    )


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
