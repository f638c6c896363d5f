"""Real servers for the tests: the API in this process (uvicorn on a free port) or as a
separate `app.py serve` process, and spare redis-server instances."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import uvicorn
from cryptography.fernet import Fernet

from api.app import create_app
from resolvers.context import Services
from settings import Settings
from tests.support.redis_server import start_redis_server, stop_redis_server

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/0"


# The keys of personal data at rest for this test run: the in-process server (conftest) and every
# child process share them, as replicas of one deployment do; `serve` refuses the development keys
# against a database it did not start.
TEST_KEYS = {
    "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "LOOKUP_KEY": secrets.token_hex(32),
}


# The suite's tokens make thousands of calls a minute: the limiter stays on, never reached
# (tests/api/test_limits.py tests it with a limit of 3).
TEST_LIMITS = {"RATE_LIMIT_PER_MINUTE": "1000000"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Addresses:
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"


class InProcessServer(_Addresses):
    """The Starlette app served by uvicorn inside the test's event loop, on real sockets."""

    def __init__(self, settings: Settings, mongo_uri: str) -> None:
        self.app = create_app(settings, mongo_uri, retry_writes=False)
        self.port = free_port()
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            lifespan="on",
            ws_ping_interval=None,
        )
        self.server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    async def start(self) -> None:
        self._task = asyncio.create_task(self.server.serve())
        deadline = time.monotonic() + 20
        while not self.server.started:
            if self._task.done():
                self._task.result()
            if time.monotonic() > deadline:
                raise TimeoutError("the API did not start")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, 15)


@contextlib.asynccontextmanager
async def in_process(settings: Settings, mongo_uri: str) -> AsyncIterator[InProcessServer]:
    server = InProcessServer(settings, mongo_uri)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class ServerProcess(_Addresses):
    """`python app.py serve` as a child process, as an operator would run it."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            **TEST_KEYS,
            **TEST_LIMITS,
            **env,
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
        }
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90) -> None:
        # Generous: a loaded 2-core CI machine takes tens of seconds to start two workers.
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "serve"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        readiness = "no answer"
        with contextlib.suppress(httpx.HTTPError):
            readiness = httpx.get(f"{self.url}/readyz", timeout=2).text
        self.stop()  # never leave a server behind a failed test
        raise TimeoutError(f"server not ready ({readiness}): {self.log_path.read_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode


class RedisProcess:
    """A redis-server of the test's own on a spare port, to stop and start at will."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = start_redis_server(self.port)

    def stop(self) -> None:
        stop_redis_server(self.process)


@contextlib.contextmanager
def redis_process() -> Iterator[RedisProcess]:
    redis = RedisProcess()
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()
