"""How the core benchmark (bench.py) measures a load: the CPU time of every process and the
database's operation counters around each closed-loop run, and the GraphQL/driver ratio
line."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

from bench_procs import cpu_seconds, machine_busy_seconds, self_cpu_seconds
from bench_stats import MACHINE, LoadResult, Usage, closed_loop, ratio
from core_config import Doc, say
from pymongo import AsyncMongoClient


class Meter:
    """Samples CPU time of the API process, the database and this client, and db opcounters."""

    def __init__(self, mongo: AsyncMongoClient[Doc], mongo_pid: int) -> None:
        self._mongo = mongo
        self._mongo_pid = mongo_pid
        self.api_pid: int | None = None
        self.redis_pid: int | None = None

    async def sample(self) -> Usage:
        cpu: dict[str, float] = {}
        if self.api_pid is not None:
            cpu["api"] = cpu_seconds(self.api_pid)
        cpu["mongo"] = cpu_seconds(self._mongo_pid)
        if self.redis_pid is not None:
            with contextlib.suppress(OSError):
                cpu["redis"] = cpu_seconds(self.redis_pid)
        cpu["client"] = self_cpu_seconds()
        cpu[MACHINE] = machine_busy_seconds()
        db_ops: dict[str, int] = {}
        with contextlib.suppress(Exception):
            status = await self._mongo.admin.command("serverStatus")
            db_ops = {k: int(v) for k, v in status.get("opcounters", {}).items()}
        return Usage(cpu, db_ops)


async def measured(
    name: str,
    clients: int,
    seconds: float,
    warmup: float,
    operation: Callable[[int], Awaitable[bool]],
    meter: Meter,
) -> LoadResult:
    if warmup > 0:
        await closed_loop(name + " (warm-up)", clients, warmup, operation, meter.sample)
    result = await closed_loop(name, clients, seconds, operation, meter.sample)
    say(result.line())
    say(result.cost_line())
    return result


def compare(label: str, api: LoadResult, floor: LoadResult) -> None:
    say(
        f"  ratio {label}: throughput {ratio(api.rate, floor.rate)} of the driver's, "
        f"latency p50 {ratio(api.p50, floor.p50)}, p99 {ratio(api.p99, floor.p99)} the driver's"
    )
