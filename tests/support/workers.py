"""The worker processes of `app.py serve` with WORKERS > 1, found from the outside: for the tests
that kill one and for the delivery benchmark's CPU accounting (it imports this at run time)."""

from __future__ import annotations

import contextlib
from pathlib import Path


def worker_pids(parent: int) -> list[int]:
    """The processes `serve` (pid `parent`) spawned as workers, not multiprocessing's resource
    tracker; none for a server of one process."""
    found = []
    for child in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
        with contextlib.suppress(OSError):  # a child that has just exited
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
                found.append(int(child))
    return found
