"""What `GET /metrics` answers, for one process or for all the workers of `serve`.

With `WORKERS` > 1 every worker accepts on the same port, so a scrape reaches one of them at
random: its own figures would jump between workers from scrape to scrape (a counter that
"resets", a gauge of one worker's sockets). The workers instead write their samples to files in
one directory (prometheus-client's multiprocess mode, PROMETHEUS_MULTIPROC_DIR, set by the
parent before it starts them), and whichever worker is asked adds them all up.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

ENV = "PROMETHEUS_MULTIPROC_DIR"


def exposition() -> bytes:
    """The Prometheus text of this process, or of every worker when they share a directory."""
    if not os.environ.get(ENV):
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


@contextlib.contextmanager
def shared_by_workers() -> Iterator[Path]:
    """A directory for the workers' samples, set in the environment the workers inherit.

    An operator's own PROMETHEUS_MULTIPROC_DIR is used when set; its files from an earlier run
    are removed first (they would be added to this run's). A directory made here is removed at
    the end."""
    given = os.environ.get(ENV)
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
    else:
        directory = Path(tempfile.mkdtemp(prefix="metrics-"))
        os.environ[ENV] = str(directory)
    try:
        yield directory
    finally:
        if not given:
            os.environ.pop(ENV, None)
            shutil.rmtree(directory, ignore_errors=True)


def worker_gone(pid: int) -> None:
    """A worker that died: its open-socket gauges no longer count (its counters still do)."""
    if os.environ.get(ENV):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
