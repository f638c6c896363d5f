"""The processes a benchmark run owns: the embedded Mongo-wire server and `app.py serve`.

Both are started here and stopped here, on success, on error and on Ctrl-C (each runs in its
own process group, so a terminal's Ctrl-C reaches the benchmark first and it stops them).
CPU time and resident memory are read from /proc, per process.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

# Keys of personal data at rest shared by every process of one run (`serve` refuses the
# development ones against a database it did not start).
BENCH_ENCRYPTION_KEY = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
BENCH_LOOKUP_KEY = secrets.token_hex(32)

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "out"  # git-ignored: server logs of the last run

_TICK = os.sysconf("SC_CLK_TCK")


def import_service(module: str) -> Any:
    """A module of the service, imported at run time.

    Deliberately not a static import: `mypy benchmarks` would otherwise type-check the whole
    service through it, and the benchmark's typing must not depend on the service's.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module(module)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime (fields 14, 15)


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def find_process(name: str) -> int | None:
    """The pid of a running process whose command name is `name` (e.g. redis-server)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text(encoding="utf-8").strip() == name:
                    return int(entry.name)
            except OSError:
                continue
    return None


def self_cpu_seconds() -> float:
    return time.process_time()


def machine_busy_seconds() -> float:
    """CPU time all cores spent outside idle/iowait since boot, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as f:
        values = [int(v) for v in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values
    return (user + nice + system + irq + softirq + steal) / _TICK


class _Embedded(Protocol):
    def start(self, timeout: float = ...) -> str: ...
    def stop(self, timeout: float = ...) -> None: ...


class EmbeddedMongoProcess:
    """db.embedded.EmbeddedMongo(':memory:'), with its pid for CPU accounting."""

    def __init__(self) -> None:
        cls = import_service("db.embedded").EmbeddedMongo
        # BENCH_EMBEDDED_STORAGE: a directory instead of memory (WiredTiger then checkpoints)
        self._storage = os.environ.get("BENCH_EMBEDDED_STORAGE", ":memory:")
        self._server: _Embedded = cls(self._storage)
        self.uri = ""
        # its warnings (conflict retries, failures) printed with the run's output
        said = logging.getLogger("embedded_db")
        if not said.handlers:
            handler = logging.StreamHandler(sys.stdout)
            handler.setFormatter(logging.Formatter("  [embedded database] %(line)s"))
            said.addHandler(handler)
            said.propagate = False

    def start(self) -> str:
        self.uri = self._server.start()
        return self.uri

    @property
    def pid(self) -> int:
        process: subprocess.Popen[str] | None = getattr(self._server, "_process", None)
        if process is None:
            raise RuntimeError("the embedded server is not running")
        return process.pid

    def stop(self) -> None:
        self._server.stop()


@dataclass
class ServiceConfig:
    mongo_uri: str
    database: str
    redis_url: str  # "" = in-memory bus
    label: str
    auth_secret: str


class ServiceProcess:
    """`python app.py serve --port P` as a child process in its own process group.

    `command` runs another server instead (a benchmark's floor), configured from the same
    environment and given the same `--port P`; it must answer /readyz with 200 once serving.
    """

    def __init__(self, config: ServiceConfig, command: list[str] | None = None) -> None:
        self.config = config
        self.command = command or [sys.executable, str(ROOT / "app.py"), "serve"]
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = OUT / f"server-{config.label}.log"
        self._log: IO[bytes] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("not started")
        return self._process.pid

    def start(self, timeout: float = 60.0) -> float:
        """Start it and wait for /readyz; returns the seconds it took to become ready."""
        OUT.mkdir(exist_ok=True)
        env = dict(os.environ)
        env.update(
            MONGODB_URI=self.config.mongo_uri,
            MONGODB_RETRY_WRITES="false",
            MONGODB_DATABASE=self.config.database,
            REDIS_URL=self.config.redis_url,
            LOG_LEVEL="WARNING",
            AUTH_SECRET=self.config.auth_secret,
            ENCRYPTION_KEYS=BENCH_ENCRYPTION_KEY,
            LOOKUP_KEY=BENCH_LOOKUP_KEY,
            RATE_LIMIT_PER_MINUTE="0",  # the load generator is one token by design
        )
        self._log = self.log_path.open("wb")
        began = time.monotonic()
        self._process = subprocess.Popen(
            [*self.command, "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = began + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"the API server exited with {self._process.returncode}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.base}/readyz", timeout=2) as response:
                    if response.status == 200:
                        return time.monotonic() - began
            except OSError as exc:  # URLError, HTTPError (503 while starting), refused
                last = str(exc)
            time.sleep(0.1)
        raise RuntimeError(
            f"the API server was not ready after {timeout:.0f} s ({last}):\n{self.log_tail()}"
        )

    def metric(self, name: str) -> float | None:
        """One unlabelled sample from /metrics (Prometheus text format)."""
        with urllib.request.urlopen(f"{self.base}/metrics", timeout=5) as response:
            text = response.read().decode()
        match = re.search(rf"^{re.escape(name)} ([0-9.eE+-]+)$", text, re.MULTILINE)
        return float(match.group(1)) if match else None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def log_problems(self) -> dict[str, int]:
        """Counts of logged error/warning events by (level, event), from the JSON log lines."""
        counts: dict[str, int] = {}
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return counts
        pattern = re.compile(r'"level": "(error|warning|critical)".*?"event": "([^"]+)"')
        for line in text.splitlines():
            match = pattern.search(line)
            if match:
                key = f"{match.group(1)} {match.group(2)}"
                counts[key] = counts.get(key, 0) + 1
            elif line.startswith("Traceback") or " ERROR " in line:
                counts["unstructured error"] = counts.get("unstructured error", 0) + 1
        return counts

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM to its process group, SIGKILL after `timeout`; returns the exit code."""
        process, self._process = self._process, None
        code: int | None = None
        if process is not None:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait(10)
            code = process.returncode
        if self._log is not None:
            self._log.close()
            self._log = None
        return code
