"""The garbage collector's pauses are timed, by generation, once however often it is asked."""

from __future__ import annotations

import gc

from prometheus_client import REGISTRY

from telemetry.gc_pauses import _on_gc, watch_gc_pauses


def _collections(generation: str) -> float:
    value = REGISTRY.get_sample_value("python_gc_pause_seconds_count", {"generation": generation})
    return value or 0.0


def test_a_full_collection_is_timed_and_the_callback_is_installed_once() -> None:
    watch_gc_pauses()
    watch_gc_pauses()
    assert gc.callbacks.count(_on_gc) == 1
    before = _collections("2")
    gc.collect(2)
    assert _collections("2") == before + 1
    total = REGISTRY.get_sample_value("python_gc_pause_seconds_sum", {"generation": "2"})
    assert total is not None and total > 0
