"""The header of a core benchmark run (bench.py): machine, packages, Redis, command and
client, so that printed figures say where they were measured; and the open-file limit its
sockets need. bench_read_http.py prints its header with the same package and memory lookups."""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import os
import platform
import resource
import socket
import sys
from datetime import UTC, datetime

from core_config import HOST, REDIS_URL, say


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
