"""Checks that objects are freed by reference counting alone, with the cycle collector off."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_off() -> Iterator[None]:
    """Earlier garbage collected first; inside, only reference counting frees anything."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def alive(kind: type) -> int:
    """Objects of `kind` the collector tracks: live ones, and garbage it has not freed yet."""
    return sum(1 for o in gc.get_objects() if isinstance(o, kind))
