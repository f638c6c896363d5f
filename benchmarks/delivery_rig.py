"""The rig of the delivery benchmark: its own redis-server, the API and floor server processes,
the WebSocket client processes (ws_clients.py), GraphQL calls, and when each message reached
Redis. bench_delivery.py runs the phases on it."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import httpx
from bench_http import GraphQLClient
from bench_procs import (
    BENCH_ENCRYPTION_KEY,
    BENCH_LOOKUP_KEY,
    OUT,
    ROOT,
    free_port,
    import_service,
)
from bench_stats import percentile
from redis import asyncio as aioredis
from ws_clients import Note, Record, client_main, decode_report

ENROLL = """mutation Enroll($input: EnrollMemberInput!) {
  enrollMember(input: $input) { member { id version } userErrors { code } } }"""
PURCHASE = """mutation Buy($input: RecordPurchaseInput!) {
  recordPurchase(input: $input) { member { version } userErrors { code } } }"""
CLIENT_PROCESSES = 2


def say(text: str = "") -> None:
    print(text, flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


# --------------------------------------------------------------------------- processes


class Redis:
    """A redis-server of the benchmark's own, started and stopped by the tests' helper
    (tests/support/redis_server.py): the same argv, the same wait for its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self._servers = import_service("tests.support.redis_server")

    def start(self) -> None:
        self.process = self._servers.start_redis_server(self.port, "--maxclients", "1000")

    def stop(self) -> None:
        self._servers.stop_redis_server(self.process)


def _wait_port(port: int, timeout: float) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


class Server:
    """A server process in its own session (the API or the floor), stopped with SIGTERM."""

    def __init__(self, label: str, argv: list[str], env: dict[str, str], port: int) -> None:
        self.label = label
        self.port = port
        OUT.mkdir(exist_ok=True)
        self.log = (OUT / f"delivery-{label}.log").open("wb")
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, path: str | None, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.label} exited; see {self.log.name}")
            try:
                if path is None:
                    _wait_port(self.port, 0.5)
                    return
                if httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=2).status_code == 200:
                    return
            except (httpx.HTTPError, TimeoutError):
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.label} not ready")

    def worker_pids(self) -> list[int]:
        """The worker processes of an API started with WORKERS > 1 (none otherwise): the
        processes that do the work, for CPU accounting."""
        workers: list[int] = import_service("tests.support.workers").worker_pids(self.process.pid)
        return workers

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.log.close()


def api_server(mongo_uri: str, redis_url: str, secret: str, **extra: str) -> Server:
    port = free_port()
    env = {
        "MONGODB_URI": mongo_uri,
        "MONGODB_RETRY_WRITES": "false",
        "MONGODB_DATABASE": "bench_delivery",
        "REDIS_URL": redis_url,
        "LOG_LEVEL": "WARNING",
        "AUTH_SECRET": secret,
        "SUBSCRIBER_QUEUE_SIZE": "64",
        "ENCRYPTION_KEYS": BENCH_ENCRYPTION_KEY,
        "LOOKUP_KEY": BENCH_LOOKUP_KEY,
        # thousands of subscriptions under one benchmark token: the per-subject limit is off
        "RATE_LIMIT_PER_MINUTE": "0",
        **extra,
    }
    label = "api" + "".join(f"-{k.lower()}={v}" for k, v in extra.items())
    server = Server(
        label, [sys.executable, str(ROOT / "app.py"), "serve", "--port", str(port)], env, port
    )
    server.wait_ready("/readyz")
    return server


def floor_server(redis_url: str) -> Server:
    port = free_port()
    argv = [sys.executable, str(ROOT / "benchmarks" / "floor_ws.py"), str(port), redis_url]
    server = Server("floor", argv, {}, port)
    server.wait_ready(None)
    return server


class Clients:
    """WebSocket clients in CLIENT_PROCESSES processes; one socket per entry of `members`."""

    def __init__(self, mode: str, url: str, token: str, members: list[str]) -> None:
        spawn = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.processes = []
        for n in range(CLIENT_PROCESSES):
            mine = members[n::CLIENT_PROCESSES]
            parent, child = spawn.Pipe()
            process = spawn.Process(target=client_main, args=(child, mode, url, token, mine))
            process.start()
            self.pipes.append(parent)
            self.processes.append(process)
        self.sockets = 0
        for pipe in self.pipes:
            if not pipe.poll(300):
                raise TimeoutError("clients did not connect in 300 s")
            _state, count = pipe.recv()
            self.sockets += count
        self.records: list[Record] = []
        self.notes: list[Note] = []

    def collect(self) -> list[Record]:
        for pipe in self.pipes:
            pipe.send("report")
        for n, pipe in enumerate(self.pipes):
            # socket indexes are per process: make them global
            records, notes = decode_report(pipe.recv())
            for index, member, version, coalesced, at in records:
                self.records.append((index * CLIENT_PROCESSES + n, member, version, coalesced, at))
            self.notes.extend((index * CLIENT_PROCESSES + n, note) for index, note in notes)
        return self.records

    def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send("quit")
        for pipe in self.pipes:
            with contextlib.suppress(OSError, EOFError):
                if pipe.poll(60):
                    pipe.recv()
        for process in self.processes:
            process.join(30)
            if process.is_alive():
                process.kill()


@contextlib.contextmanager
def clients(mode: str, url: str, token: str, members: list[str]) -> Iterator[Clients]:
    started = Clients(mode, url, token, members)
    try:
        yield started
    finally:
        started.close()


@dataclass
class Rig:
    """What every phase runs against: the API serving the sockets, its database and Redis."""

    http: httpx.AsyncClient
    api: Api
    api_proc: Server
    mongo_uri: str
    mongo_pid: int
    redis: Redis
    secret: str
    token: str
    till: str
    servers: list[Server]  # stopped at the end of the run


# --------------------------------------------------------------------------- the API's metrics


async def metric_sum(http: httpx.AsyncClient, port: int, name: str) -> float:
    text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + " ") or line.startswith(name + "{")
    )


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


# --------------------------------------------------------------------------- API calls


class Api:
    """The API's operations the benchmark needs. Purchases go as a till sends them (`till`: a
    POS token of store-001) over raw keep-alive connections (bench_http.py), one per purchase
    in flight: the load generator shares the machine's cores with the server."""

    def __init__(self, http: httpx.AsyncClient, port: int, token: str, till: str) -> None:
        self.http = http
        self.port = port
        self.url = f"http://127.0.0.1:{port}/graphql"
        self.ws_url = f"ws://127.0.0.1:{port}/graphql"
        self.headers = {"authorization": f"Bearer {token}"}
        self._till = till
        self._idle: list[GraphQLClient] = []

    async def call(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(
            self.url, json={"query": query, "variables": variables}, headers=self.headers
        )
        body: dict[str, Any] = response.json()
        if "errors" in body:
            raise RuntimeError(body["errors"])
        return body["data"]  # type: ignore[no-any-return]

    async def enroll(self, count: int, concurrency: int = 16) -> list[str]:
        ids: list[str] = []
        todo = iter(range(count))

        async def worker() -> None:
            for _ in todo:
                data = await self.call(
                    ENROLL,
                    {
                        "input": {
                            "identifiers": [
                                {"kind": "EMAIL", "value": f"b-{uuid.uuid4().hex[:16]}@example.com"}
                            ],
                            "channel": "APP",
                        }
                    },
                )
                ids.append(data["enrollMember"]["member"]["id"])

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return ids

    async def purchase(self, member_id: str, amount: str = "3.00") -> int:
        key = uuid.uuid4().hex
        variables = {
            "input": {
                "memberId": member_id,
                "amount": amount,
                "currencyCode": "EUR",
                "channel": "POS",
                "storeId": "store-001",
                "orderId": f"b-{key[:12]}",
                "idempotencyKey": key,
            }
        }
        connection = (
            self._idle.pop() if self._idle else GraphQLClient("127.0.0.1", self.port, self._till)
        )
        try:
            data = (await connection.execute(PURCHASE, variables))["data"]
        except BaseException:
            await connection.close()
            raise
        self._idle.append(connection)
        payload = data["recordPurchase"]
        if payload["userErrors"]:
            raise RuntimeError(payload["userErrors"])
        return int(payload["member"]["version"])

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()


class Arrivals:
    """When each message reached Redis, seen by a subscriber of our own (t0 of a fan-out)."""

    def __init__(self, redis_url: str) -> None:
        # the service's own reader of event messages (either format; needs no keys)
        self._events = import_service("subscriptions.events")
        self._redis = aioredis.Redis.from_url(redis_url)
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._seen: dict[tuple[str, int], float] = {}
        self._task: asyncio.Task[None] | None = None

    async def watch(self, *channels: str) -> None:
        await self._pubsub.subscribe(*channels)
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for message in self._pubsub.listen():
            if message["type"] == "message":
                at = time.monotonic()
                data = self._events.from_wire(message["data"])
                if isinstance(data, bytes):  # a binary event of the API
                    version = self._events.version_of(data)
                else:  # the floor's push text (or a JSON event): its first "version"
                    version = int(re.search(r'"version": ?(\d+)', data).group(1))  # type: ignore[union-attr]
                self._seen.setdefault((message["channel"].decode(), version), at)

    async def when(self, channel: str, version: int, timeout: float = 10) -> float:
        deadline = time.monotonic() + timeout
        while (channel, version) not in self._seen:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{channel} v{version} never reached Redis")
            await asyncio.sleep(0.002)
        return self._seen[(channel, version)]

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
            await self._redis.aclose()


async def wait_for_version(group: Clients, version: int, sockets: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = await asyncio.to_thread(group.collect)
        if len({r[0] for r in records if r[2] >= version}) >= sockets:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"not every socket got version {version} within {timeout} s")


def spread(delays: list[float]) -> str:
    return (
        f"first {ms(min(delays))}  p50 {ms(percentile(delays, 50))}  "
        f"p99 {ms(percentile(delays, 99))}  last {ms(max(delays))}"
    )
