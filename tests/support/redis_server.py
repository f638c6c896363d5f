"""redis-server processes of the tests' own, on a given port, keeping nothing on disk."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time


def start_redis_server(port: int, *options: str) -> subprocess.Popen[bytes]:
    """Start redis-server on 127.0.0.1:`port` with `options`; return once it answers there."""
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            *options,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            # e.g. its port was taken meanwhile: what answers there is not this server
            raise RuntimeError(f"redis-server on {port} exited at start")
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), 0.2),
        ):
            return process
        time.sleep(0.05)
    stop_redis_server(process)
    raise TimeoutError(f"redis-server on {port} did not start")


def stop_redis_server(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        process.wait(10)
