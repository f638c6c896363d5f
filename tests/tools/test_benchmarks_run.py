"""The benchmark scripts still run against the service as it is now.

They import the service's modules and speak its wire formats (the event messages a Redis
watcher reads, the subscription a client opens), so a change to either can break them without
any other test noticing. These runs use the scripts' smallest sizes and check only what each
run reports about correctness: no figure is timed or compared here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.processes


def _run(*argv: str, timeout: float) -> str:
    done = subprocess.run(
        [sys.executable, *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{argv[0]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_the_delivery_benchmark_checks_every_version_of_a_small_mixed_load_and_a_recovery() -> None:
    # the mixed load on an API of two workers: the load reads /metrics, which must answer for
    # both; the recovery runs on the benchmark's API of one process
    out = _run(
        "benchmarks/bench_delivery.py", "--quick", "--phases", "34", "--workers", "2", timeout=300
    )
    checked = re.findall(
        r"checked every socket: out of order (\d+), lost (\d+), coalesced catch-ups \d+, "
        r"sockets with a close or an error message (\d+)",
        out,
    )
    assert checked == [("0", "0", "0")], out
    purchases = re.search(r"(\d+) purchases at \d+/s \((\d+) failed", out)
    assert purchases is not None and int(purchases[1]) > 0 and purchases[2] == "0", out
    assert re.search(r"api worker 1 [\d.]+ s, api worker 2 [\d.]+ s", out), out
    # the recovery phase: after Redis came back every subscription resynced and every changed
    # member's subscribers had the new version
    assert re.search(r"every subscription resynced +[\d.]+ ms after the restart", out), out
    assert re.search(r"subscribers had the new version +[\d.]+ ms", out), out


def test_the_event_benchmark_times_both_formats() -> None:
    out = _run("benchmarks/bench_events.py", "--rounds", "50", timeout=120)
    for row in ("encode json", "encode binary + stamp", "decode json", "decode binary"):
        assert re.search(rf"{re.escape(row)} +[\d.]+ us", out), out
