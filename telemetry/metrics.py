"""The service's Prometheus metrics (the bus's own are in subscriptions/metrics.py).

Label values are bounded: operation names are capped at MAX_OPERATIONS distinct values per
process (the rest count as "other"), codes come from the schema's enums, commands from the driver.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram

# Buckets in seconds: a read is ~10 ms, a write ~20 ms; the tail matters up to seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

GRAPHQL_DURATION = Histogram(
    "graphql_request_duration_seconds",
    "Time to answer one GraphQL query or mutation, by operation name and type.",
    ["operation", "type"],
    buckets=LATENCY_BUCKETS,
)
GRAPHQL_ERRORS = Counter(
    "graphql_errors_total",
    "Errors returned: top-level errors by extensions.code (kind=graphql), userErrors by code "
    "(kind=user).",
    ["kind", "code"],
)
# multiprocess_mode: how the workers' values add up at /metrics (telemetry/exposition.py);
# "live" leaves out a worker that died.
WEBSOCKETS_OPEN = Gauge(
    "websockets_open", "Open WebSocket connections.", multiprocess_mode="livesum"
)
DB_COMMAND_DURATION = Histogram(
    "db_command_duration_seconds",
    "MongoDB command latency as the driver saw it, by command name.",
    ["command"],
    buckets=LATENCY_BUCKETS,
)
DB_COMMAND_FAILURES = Counter(
    "db_command_failures_total", "MongoDB commands that failed, by command name.", ["command"]
)
JOB_RUNS = Counter("job_runs_total", "Runs of background jobs by outcome.", ["job", "outcome"])
JOB_DURATION = Histogram(
    "job_duration_seconds",
    "Duration of background job runs.",
    ["job"],
    buckets=(0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
)
JOB_LAST_SUCCESS = Gauge(
    "job_last_success_timestamp_seconds",
    "When each job last succeeded (Unix time).",
    ["job"],
    multiprocess_mode="max",
)

MAX_OPERATIONS = 200
_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")
_seen_operations: set[str] = set()


def operation_label(name: str | None) -> str:
    """The operation name as a label value: bounded in form and in number."""
    if not name:
        return "anonymous"
    if not _NAME.match(name):
        return "other"
    if name not in _seen_operations:
        if len(_seen_operations) >= MAX_OPERATIONS:
            return "other"
        _seen_operations.add(name)
    return name


def record_job_run(job: str, outcome: str, seconds: float) -> None:
    """One run of a background job: outcome is "ok" or "error" (or another short word)."""
    JOB_RUNS.labels(job=job, outcome=outcome).inc()
    JOB_DURATION.labels(job=job).observe(seconds)
    if outcome == "ok":
        JOB_LAST_SUCCESS.labels(job=job).set(time.time())


@contextmanager
def job_run(job: str) -> Iterator[None]:
    """`with job_run("expire-points"): ...` records the run, "error" when it raises."""
    started = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    finally:
        record_job_run(job, outcome, time.perf_counter() - started)
