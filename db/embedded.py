"""The embedded Mongo-wire server for a laptop and the tests, started and stopped by us.

It is SecantusDB, a development dependency only; production points MONGODB_URI at MongoDB.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

_LISTENING = re.compile(r"listening on ([0-9.]+):(\d+)")
# A record of its log: "<date> <time>,<ms> <LEVEL> <logger>: <message>"; other lines continue one.
_RECORD = re.compile(r"^\S+ \S+ ([A-Z]+) ")
_SAID = {"WARNING", "ERROR", "CRITICAL"}

log = logging.getLogger("embedded_db")


def forward_warnings(lines: Iterable[str]) -> None:
    """The server's warnings and errors (with their continuation lines, a traceback), into this
    process's log; the rest of its output is dropped. Its own retries and stalls warn there."""
    saying = False
    for line in lines:
        record = _RECORD.match(line)
        if record:
            saying = record.group(1) in _SAID
        if saying:
            log.warning("embedded_db.output", extra={"line": line.rstrip()})


class EmbeddedMongoError(RuntimeError):
    """The embedded server could not be started."""


def _executable() -> str:
    beside = Path(sys.executable).with_name("secantusd-py")
    if beside.exists():
        return str(beside)
    found = shutil.which("secantusd-py")
    if not found:
        raise EmbeddedMongoError(
            "secantusd-py not found: install the development dependencies (make install) "
            "or set MONGODB_URI to a MongoDB server"
        )
    return found


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if we die without stopping it (even on SIGKILL)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class EmbeddedMongo:
    """A `secantusd-py` child process; `storage` is a folder or ':memory:'."""

    def __init__(
        self, storage: Path | str, *, sync_on_commit: bool = False, host: str = "127.0.0.1"
    ) -> None:
        self.storage = str(storage)
        self.sync_on_commit = sync_on_commit
        self.host = host
        self.port: int | None = None
        self._process: subprocess.Popen[str] | None = None

    @property
    def uri(self) -> str:
        if self.port is None:
            raise EmbeddedMongoError("not started")
        # retryWrites=false: this server slows every retryable write once it has recorded
        # many of them (measured: +4-6 ms per write after 10k in 30 minutes).
        return f"mongodb://{self.host}:{self.port}/?directConnection=true&retryWrites=false"

    def start(self, timeout: float = 20.0) -> str:
        if self.storage != ":memory:":
            Path(self.storage).mkdir(parents=True, exist_ok=True)
        args = [
            _executable(),
            "--host", self.host,
            "--port", "0",
            "--storage-path", self.storage,
            "--log-level", "INFO",  # the port is read from its INFO "listening on" line
        ]  # fmt: skip
        if self.sync_on_commit:
            # Without it, acknowledged writes of the last ~100 ms are lost on a hard kill.
            args.append("--sync-on-commit")
        self._process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Its own process group, so Ctrl-C in a terminal reaches us first and we stop it.
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self.port = self._wait_for_port(timeout)
        return self.uri

    def _wait_for_port(self, timeout: float) -> int:
        assert self._process is not None and self._process.stdout is not None
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while time.monotonic() < deadline:
            line = self._process.stdout.readline()
            if not line:
                if self._process.poll() is not None:
                    break
                continue
            seen.append(line.rstrip())
            match = _LISTENING.search(line)
            if match:
                self._drain()
                return int(match.group(2))
        self.stop()
        raise EmbeddedMongoError("embedded MongoDB did not start:\n" + "\n".join(seen[-20:]))

    def _drain(self) -> None:
        # Keep reading its output so a full pipe never blocks the server.
        assert self._process is not None
        threading.Thread(target=forward_warnings, args=(self._process.stdout,), daemon=True).start()

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout)
        except ProcessLookupError:
            pass

    def __enter__(self) -> EmbeddedMongo:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
