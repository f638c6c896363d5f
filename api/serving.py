"""uvicorn as `app.py serve` runs it: redeploys that lose nothing, worker processes, GC tuning.

On SIGTERM (or Ctrl-C) a server stops accepting, closes every WebSocket with 1001 (going
away: clients reconnect to another process and resume with sinceVersion; uvicorn's own close
would be 1012), lets in-flight HTTP requests finish (so a write that started commits and
publishes), and then runs the app's shutdown.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
from typing import Any

import uvicorn
from starlette.applications import Starlette

from settings import Settings
from telemetry.exposition import shared_by_workers, worker_gone
from telemetry.gc_pauses import watch_gc_pauses

log = logging.getLogger("serve")


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options as `serve` sets them (one place, so a benchmark's floor server runs
    under exactly the same ones)."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "ws_ping_interval": settings.ws_ping_interval_seconds,
        "ws_ping_timeout": settings.ws_ping_timeout_seconds,
        "ws_per_message_deflate": settings.ws_per_message_deflate,
        "timeout_graceful_shutdown": 10,
    }


def gc_options(settings: Settings) -> dict[str, Any]:
    return {"gc_freeze": settings.gc_freeze, "gc_threshold0": settings.gc_threshold0}


def _starlette(app: Any) -> Starlette | None:
    """The Starlette app below uvicorn's wrappers (proxy headers, message logger)."""
    for _ in range(10):
        if isinstance(app, Starlette):
            return app
        app = getattr(app, "app", None)
    return None


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, *, gc_freeze: bool, gc_threshold0: int) -> None:
        super().__init__(config)
        self._gc_freeze = gc_freeze
        self._gc_threshold0 = gc_threshold0

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        # Everything built at start (schema, program, modules) lives as long as the process:
        # moved out of the collector's reach, full collections scan only what came after.
        # A higher first threshold makes young collections rarer during a fan-out burst.
        if self._gc_threshold0:
            _, gen1, gen2 = gc.get_threshold()
            gc.set_threshold(self._gc_threshold0, gen1, gen2)
        if self._gc_freeze:
            gc.collect()
            gc.freeze()
        watch_gc_pauses()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # stop accepting before anything else
        app = _starlette(self.config.loaded_app)
        view = getattr(app.state, "view", None) if app is not None else None
        if view is not None:
            log.info("serve.draining", extra={"sockets": view.open_sockets})
            await view.close_sockets(code=1001)
        await super().shutdown(sockets)


def _reuse_port_socket(config: uvicorn.Config) -> socket.socket:
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((config.host, config.port))
    sock.listen(config.backlog)
    sock.set_inheritable(True)
    return sock


STARTUP_FAILURE = 3  # uvicorn's exit code for a server that never started


def _worker(
    config: uvicorn.Config, sock: socket.socket, gc_freeze: bool, gc_threshold0: int
) -> None:
    server = DrainingServer(config, gc_freeze=gc_freeze, gc_threshold0=gc_threshold0)
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def run_workers(
    config: uvicorn.Config, workers: int, *, gc_freeze: bool, gc_threshold0: int
) -> bool:
    """`workers` processes, each accepting on a socket of its own bound to the same port with
    SO_REUSEPORT, so the kernel spreads connections evenly (one shared accept socket lets the
    most recently idle worker take nearly all of them). A worker that dies is replaced.

    The config's app must be an import string (each worker builds its own app). SIGTERM or
    SIGINT is passed on to every worker, which drains as above; this returns when all ended.
    Returns False when a worker could not start (a bad configuration: restarting would not help).
    `/metrics` of any worker answers for all of them (telemetry/exposition.py).
    """
    with shared_by_workers():
        return _supervise(config, workers, gc_freeze, gc_threshold0)


def _supervise(config: uvicorn.Config, workers: int, gc_freeze: bool, gc_threshold0: int) -> bool:
    sockets = [_reuse_port_socket(config) for _ in range(workers)]
    spawn = multiprocessing.get_context("spawn")

    def new_worker(n: int) -> multiprocessing.context.SpawnProcess:
        return spawn.Process(target=_worker, args=(config, sockets[n], gc_freeze, gc_threshold0))

    processes = [new_worker(n) for n in range(workers)]
    for process in processes:
        process.start()
    stopping = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda signum, frame: stopping.set())
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    started = True
    try:
        while started and not stopping.wait(0.5):
            for n, process in enumerate(processes):
                if process.is_alive() or stopping.is_set():
                    continue
                if process.exitcode == STARTUP_FAILURE:
                    started = False
                    break
                log.warning("serve.worker_died", extra={"exitcode": process.exitcode})
                if process.pid is not None:
                    worker_gone(process.pid)
                processes[n] = new_worker(n)
                processes[n].start()
    finally:
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        for process in processes:
            process.join()
        for sock in sockets:
            sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return started


def serve_one(app: Starlette, settings: Settings) -> bool:
    """`app` in this process as one worker, as `serve` runs it; False when it never started."""
    server = DrainingServer(
        uvicorn.Config(app, **uvicorn_options(settings)), **gc_options(settings)
    )
    server.run()
    return server.started
