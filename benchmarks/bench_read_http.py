"""Member read over HTTP: the API's GraphQL read against a plain Starlette JSON endpoint that
answers the same document, per uvicorn worker (issue 8; target: at least 1/5 of the plain rate).

    .venv/bin/python benchmarks/bench_read_http.py [--quick]

Starts its own embedded Mongo-wire server (in memory), seeds members through the API, and runs
four servers of one uvicorn worker each, all under `serve`'s uvicorn options and GC settings:

  api         `app.py serve`: the service as deployed (in-memory bus, no rate limit)
  plain       benchmarks/floor_read.py: GET /member/{id}, the API's driver call and decoding,
              the same document and bytes, no GraphQL, no middleware, no token
  api-held    benchmarks/held_api.py: the same app as `api`, member reads answered from memory
  plain-held  benchmarks/floor_read.py --held: `plain`, members held in memory

The load comes from one client process of its own (bench_http.py's keep-alive client, 32
connections, a random member of all seeded per request, closed loop bounded by time and count).
Measured: requests/s, p50/p99, CPU per request of the server, the database and the client.

 (a) GraphQL member(id) {profile balance tier} (core_config.py's MEMBER_READ) against `api`:
     POST with the query; POST with its persisted-query hash only; GET with the hash (an
     ETag'd answer);
 (b) the plain endpoint against `plain`;
 (c) (a)'s POST and GET against `api-held`, and `plain-held`: the GraphQL layer's own cost.

First it checks that every path answers the same bytes for a sample of members. The targets are
measured in rounds, interleaved, so a change of load on the shared machine falls on all of them.
Everything is stopped at the end, on error and on Ctrl-C. Server logs: benchmarks/out/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import multiprocessing
import os
import platform
import random
import secrets
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from types import FrameType
from urllib.parse import urlencode

from bench_http import HttpConnection, HttpError
from bench_procs import (
    ROOT,
    EmbeddedMongoProcess,
    ServiceConfig,
    ServiceProcess,
    cpu_seconds,
    machine_busy_seconds,
    self_cpu_seconds,
)
from bench_stats import MACHINE, LoadResult, Usage, closed_loop, describe_counts, ms, ratio
from core_config import MEMBER_READ
from core_environment import memory_total, package_version
from core_setup import Owned, admin_token, seed_members
from pymongo import AsyncMongoClient

HOST = "127.0.0.1"
DATABASE = "loyalty_bench_read"
CHECKED = 20  # members whose answers are compared byte for byte on every path


@dataclass(frozen=True)
class Params:
    members: int
    clients: int
    rounds: int
    seconds: float
    warmup: float
    limit: int  # requests per measured run at most
    budget: float


FULL = Params(members=1000, clients=32, rounds=3, seconds=5, warmup=1, limit=200_000, budget=600)
QUICK = Params(members=200, clients=32, rounds=1, seconds=2, warmup=0.5, limit=50_000, budget=180)


def say(text: str = "") -> None:
    print(text, flush=True)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes
    expect: bytes  # the answer's first bytes: the member asked for, no error before it


@dataclass(frozen=True)
class Target:
    name: str
    section: str  # a, b or c
    port: int
    server_pid: int
    headers: dict[str, str]
    requests: list[Request]


def expected_prefix(member_id: str) -> bytes:
    return b'{"data":{"member":{"id":"' + member_id.encode() + b'"'


def compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


QUERY_HASH = hashlib.sha256(MEMBER_READ.encode()).hexdigest()
PERSISTED = {"persistedQuery": {"version": 1, "sha256Hash": QUERY_HASH}}


def graphql_post(member_id: str) -> Request:
    body = compact({"query": MEMBER_READ, "variables": {"id": member_id}})
    return Request("POST", "/graphql", body.encode(), expected_prefix(member_id))


def graphql_post_hash(member_id: str) -> Request:
    body = compact({"variables": {"id": member_id}, "extensions": PERSISTED})
    return Request("POST", "/graphql", body.encode(), expected_prefix(member_id))


def graphql_get_hash(member_id: str) -> Request:
    query = urlencode({"variables": compact({"id": member_id}), "extensions": compact(PERSISTED)})
    return Request("GET", f"/graphql?{query}", b"", expected_prefix(member_id))


def plain_get(member_id: str) -> Request:
    return Request("GET", f"/member/{member_id}", b"", expected_prefix(member_id))


# --------------------------------------------------------------------------- client process


@dataclass(frozen=True)
class Load:
    clients: int
    seconds: float
    warmup: float
    limit: int
    mongo_uri: str
    mongo_pid: int


def client_main(pipe: Connection) -> None:
    """The load generator's process: runs each (Target, Load) it is sent, answers a LoadResult;
    "quit" ends it."""
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    with contextlib.suppress(ImportError):
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        while True:
            command = pipe.recv()
            if command == "quit":
                return
            target, load = command
            pipe.send(runner.run(measure(target, load)))


async def measure(target: Target, load: Load) -> LoadResult:
    connections = [HttpConnection(HOST, target.port, target.headers) for _ in range(load.clients)]
    rngs = [random.Random(i) for i in range(load.clients)]
    mongo: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(load.mongo_uri)
    wrong: list[bytes] = []

    async def read(i: int) -> bool:
        request = rngs[i].choice(target.requests)
        status, body = await connections[i].request(request.method, request.path, request.body)
        if status == 200 and body.startswith(request.expect) and b'"errors"' not in body:
            return True
        if not wrong:
            wrong.append(b"HTTP %d " % status + body[:300])
        return False

    async def sample() -> Usage:
        cpu = {
            "server": cpu_seconds(target.server_pid),
            "mongo": cpu_seconds(load.mongo_pid),
            "client": self_cpu_seconds(),
            MACHINE: machine_busy_seconds(),
        }
        status = await mongo.admin.command("serverStatus")
        ops = {k: int(v) for k, v in status.get("opcounters", {}).items()}
        return Usage(cpu, ops)

    try:
        if load.warmup > 0:
            await closed_loop("warm-up", load.clients, load.warmup, read, sample, load.limit)
        result = await closed_loop(
            target.name, load.clients, load.seconds, read, sample, load.limit
        )
    finally:
        for connection in connections:
            await connection.close()
        await mongo.close()
    if wrong:
        say(f"  ! {target.name}: a wrong answer: {wrong[0]!r}")
    return result


class Clients:
    """The client process, started once and sent one run at a time."""

    def __init__(self) -> None:
        spawn = multiprocessing.get_context("spawn")
        self.pipe, child = spawn.Pipe()
        self.process = spawn.Process(target=client_main, args=(child,), name="read-clients")
        self.process.start()

    async def run(self, target: Target, load: Load) -> LoadResult:
        self.pipe.send((target, load))
        timeout = load.warmup + load.seconds + 120
        if not await asyncio.to_thread(self.pipe.poll, timeout):
            raise TimeoutError(f"{target.name}: no result from the client process in {timeout} s")
        result: LoadResult = self.pipe.recv()
        return result

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.pipe.send("quit")
        self.process.join(30)
        if self.process.is_alive():
            self.process.kill()


# --------------------------------------------------------------------------- figures


def pooled(results: list[LoadResult]) -> LoadResult:
    """The rounds of one target as one run: sums of requests, time and CPU, all latencies."""
    cpu: dict[str, float] = {}
    ops: dict[str, int] = {}
    for r in results:
        for k, v in r.usage.cpu.items():
            cpu[k] = cpu.get(k, 0.0) + v
        for k, n in r.usage.db_ops.items():
            ops[k] = ops.get(k, 0) + n
    return LoadResult(
        name=results[0].name,
        clients=results[0].clients,
        ops=sum(r.ops for r in results),
        errors=sum(r.errors for r in results),
        elapsed=sum(r.elapsed for r in results),
        latencies=[x for r in results for x in r.latencies],
        usage=Usage(cpu, ops),
    )


def server_cpu(result: LoadResult) -> float:
    """Server CPU seconds per answered request."""
    total = result.ops + result.errors
    return result.usage.cpu.get("server", 0.0) / total if total else float("nan")


def round_line(result: LoadResult) -> str:
    others = result.usage.cpu.get(MACHINE, 0.0) - sum(
        v for k, v in result.usage.cpu.items() if k != MACHINE
    )
    return (
        f"    {result.name:<40} {result.rate:8.1f} /s  p50 {ms(result.p50)} ms  "
        f"server {server_cpu(result) * 1000:.3f} ms/req  errors {result.errors}  "
        f"other processes {max(0.0, others) / result.elapsed * 100:.0f}% core  "
        f"load {load_average()}"
    )


def compare(label: str, graphql: LoadResult, plain: LoadResult) -> None:
    say(
        f"  ratio {label}: throughput {ratio(graphql.rate, plain.rate)} of plain "
        f"({graphql.rate:.0f} vs {plain.rate:.0f} /s); server CPU per request "
        f"{ratio(server_cpu(graphql), server_cpu(plain))} plain's "
        f"({server_cpu(graphql) * 1000:.3f} vs {server_cpu(plain) * 1000:.3f} ms), i.e. "
        f"{ratio(server_cpu(plain), server_cpu(graphql))} of plain's requests per core-second; "
        f"p50 {ratio(graphql.p50, plain.p50)}"
    )


def verdict(graphql: LoadResult, plain: LoadResult) -> str:
    if plain.rate <= 0:
        return "n/a"
    share = graphql.rate / plain.rate
    return f"{share:.2f}x: target 1/5 (0.20x) {'met' if share >= 0.2 else 'NOT met'}"


# --------------------------------------------------------------------------- the run


def header(args: argparse.Namespace, p: Params) -> None:
    say("member read over HTTP: GraphQL vs a plain JSON endpoint" + (" (--quick)" * args.quick))
    say(f"date        {datetime.now(UTC).isoformat(timespec='seconds')}")
    say(f"machine     {platform.platform()} ({platform.machine()})")
    say(f"cpus        {os.cpu_count()}    memory {memory_total()}")
    say(f"python      {platform.python_implementation()} {platform.python_version()}")
    names = ["pymongo", "strawberry-graphql", "graphql-core", "secantusdb", "starlette"]
    names += ["uvicorn", "httptools", "uvloop"]
    say("packages    " + ", ".join(f"{n} {package_version(n)}" for n in names))
    command = " ".join([os.path.relpath(sys.executable), *sys.argv])
    say(f"command     {command}   (cwd {os.getcwd()})")
    say(f"load        {load_average()} (1, 5, 15 min) at start")
    say(
        f"load gen    one client process: {p.clients} keep-alive connections (bench_http.py), "
        f"closed loop; {p.rounds} round(s) of {p.seconds:g} s per target after a "
        f"{p.warmup:g} s warm-up, at most {p.limit} requests per round, targets interleaved"
    )
    say("servers     one uvicorn worker each, `serve`'s uvicorn options, LOG_LEVEL=WARNING")


async def start(
    owned: Owned, config: ServiceConfig, label: str, command: list[str] | None = None
) -> ServiceProcess:
    server = ServiceProcess(
        ServiceConfig(config.mongo_uri, config.database, "", label, config.auth_secret), command
    )
    owned.services.append(server)
    seconds = await asyncio.to_thread(server.start)
    say(f"server {label:<11} pid {server.pid} on {HOST}:{server.port}, ready after {seconds:.1f} s")
    return server


async def fetch(port: int, headers: dict[str, str], request: Request) -> bytes:
    http = HttpConnection(HOST, port, headers)
    try:
        status, body = await http.request(request.method, request.path, request.body)
    finally:
        await http.close()
    if status != 200:
        raise HttpError(f"{request.method} {request.path[:60]} on {port}: HTTP {status} {body!r}")
    return body


async def check_same_bytes(targets: list[Target], ids: list[str]) -> None:
    """Every path answers the same bytes for the same member (a sample of CHECKED)."""
    for member_id in random.Random(3).sample(ids, min(CHECKED, len(ids))):
        answers = {}
        for t in targets:
            request = next(r for r in t.requests if r.expect == expected_prefix(member_id))
            answers[t.name] = await fetch(t.port, t.headers, request)
        distinct = set(answers.values())
        if len(distinct) != 1:
            detail = "\n".join(f"    {name}: {body!r}" for name, body in answers.items())
            raise RuntimeError(f"the answers for {member_id} differ:\n{detail}")
    sample = next(iter(distinct))
    say(
        f"checked: {min(CHECKED, len(ids))} members, {len(targets)} paths, the same bytes on "
        f"every path ({len(sample)} bytes each), e.g.\n  {sample.decode()}"
    )


async def register_query(port: int, token: str, member_id: str) -> None:
    """Send the query with its hash once, so the server's store knows the hash."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    body = compact({"query": MEMBER_READ, "variables": {"id": member_id}, "extensions": PERSISTED})
    await fetch(port, headers, Request("POST", "/graphql", body.encode(), b""))


async def run(p: Params, args: argparse.Namespace, owned: Owned, clients: Clients) -> None:
    header(args, p)
    secret = secrets.token_urlsafe(32)
    token = admin_token(secret)
    mongo = EmbeddedMongoProcess()
    owned.mongo = mongo
    uri = await asyncio.to_thread(mongo.start)
    say(f"embedded Mongo-wire server pid {mongo.pid} ({uri}), storage :memory:")
    config = ServiceConfig(uri, DATABASE, "", "", secret)
    api = await start(owned, config, "api")
    began = time.monotonic()
    ids = await seed_members(api.port, token, p.members, 8, secrets.token_hex(3))
    say(f"seeded {len(ids)} members through enrollMember in {time.monotonic() - began:.1f} s")
    python = sys.executable
    floor = str(ROOT / "benchmarks" / "floor_read.py")
    plain = await start(owned, config, "plain", [python, floor])
    api_held = await start(
        owned, config, "api-held", [python, str(ROOT / "benchmarks" / "held_api.py")]
    )
    plain_held = await start(owned, config, "plain-held", [python, floor, "--held"])
    for server in (api, api_held):
        await register_query(server.port, token, ids[0])

    post_headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    get_headers = {"Authorization": f"Bearer {token}"}

    def target(
        name: str,
        section: str,
        server: ServiceProcess,
        headers: dict[str, str],
        build: Callable[[str], Request],
    ) -> Target:
        return Target(name, section, server.port, server.pid, headers, [build(i) for i in ids])

    targets = [
        target("(a) GraphQL POST query", "a", api, post_headers, graphql_post),
        target("(a) GraphQL POST persisted hash", "a", api, post_headers, graphql_post_hash),
        target("(a) GraphQL GET persisted hash", "a", api, get_headers, graphql_get_hash),
        target("(b) plain GET /member/{id}", "b", plain, {}, plain_get),
        target("(c) GraphQL POST query, held", "c", api_held, post_headers, graphql_post),
        target(
            "(c) GraphQL GET persisted hash, held", "c", api_held, get_headers, graphql_get_hash
        ),
        target("(c) plain GET /member/{id}, held", "c", plain_held, {}, plain_get),
    ]
    await check_same_bytes(targets, ids)

    load = Load(p.clients, p.seconds, p.warmup, p.limit, uri, mongo.pid)
    rounds: dict[str, list[LoadResult]] = {t.name: [] for t in targets}
    for number in range(1, p.rounds + 1):
        say(f"\nround {number} of {p.rounds}")
        for t in targets:
            result = await clients.run(t, load)
            rounds[t.name].append(result)
            say(round_line(result))

    results = {name: pooled(runs) for name, runs in rounds.items()}
    say(f"\nall rounds pooled ({p.rounds} x {p.seconds:g} s per target)")
    for t in targets:
        say(results[t.name].line(40))
        say(results[t.name].cost_line(40))

    by_section = {s: [results[t.name] for t in targets if t.section == s] for s in "abc"}
    best_a = max(by_section["a"], key=lambda r: r.rate)
    plain_b = by_section["b"][0]
    held_api = [r for r in by_section["c"] if "plain" not in r.name]
    best_c = max(held_api, key=lambda r: r.rate)
    plain_c = next(r for r in by_section["c"] if "plain" in r.name)
    say("\nratios GraphQL/plain (the fastest GraphQL path of each pair)")
    compare(f"(a)/(b) with the database [{best_a.name[4:]}]", best_a, plain_b)
    compare(f"(c) held in memory [{best_c.name[4:]}]", best_c, plain_c)
    say("\nSUMMARY")
    say(f"(a)/(b) {verdict(best_a, plain_b)}   {best_a.rate:.0f} vs {plain_b.rate:.0f} req/s")
    say(f"(c)     {verdict(best_c, plain_c)}   {best_c.rate:.0f} vs {plain_c.rate:.0f} req/s")
    say(f"load    {load_average()} (1, 5, 15 min) at the end")
    for server in list(owned.services):
        code = server.stop()
        owned.services.remove(server)
        problems = server.log_problems()
        say(
            f"server {server.config.label} stopped (exit {code}); logged problems: "
            f"{describe_counts(problems)}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args()
    p = QUICK if args.quick else FULL
    owned = Owned()

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    began = time.monotonic()
    code = 0
    clients = Clients()
    try:
        asyncio.run(asyncio.wait_for(run(p, args, owned, clients), p.budget))
    except KeyboardInterrupt:
        say("\ninterrupted: stopping the servers")
        code = 130
    except TimeoutError:
        say(f"\nABORTED: the run exceeded its {p.budget:.0f} s budget")
        code = 2
    except (RuntimeError, HttpError, OSError) as exc:
        say(f"\nFAILED: {type(exc).__name__}: {exc}")
        for service in owned.services:
            say(f"last lines of {service.log_path}:\n{service.log_tail(15)}")
        code = 1
    finally:
        clients.close()
        owned.stop_all()
    say(f"\ntotal wall time {time.monotonic() - began:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
