"""How long Python's garbage collector stops the process, by generation.

A full collection scans every tracked object that is not frozen; with thousands of open
subscriptions that is millions of objects, and the event loop stands still meanwhile: every
push and request of the process waits. The histogram shows such pauses as they happen
(`python_gc_pause_seconds`), where prometheus-client's own GC metrics only count collections.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from prometheus_client import Histogram

GC_PAUSE = Histogram(
    "python_gc_pause_seconds",
    "Time the garbage collector stopped this process, by generation collected.",
    ["generation"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

_started: list[float] = []


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started.append(time.perf_counter())
    elif _started:
        GC_PAUSE.labels(generation=str(info["generation"])).observe(
            time.perf_counter() - _started.pop()
        )


def watch_gc_pauses() -> None:
    """Time every collection from now on (once per process; a second call changes nothing)."""
    if _on_gc not in gc.callbacks:
        gc.callbacks.append(_on_gc)
