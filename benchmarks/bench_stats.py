"""Closed-loop load, percentiles, and per-process CPU accounting for the benchmark."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field


def per_call_us(rounds: int, call: Callable[[], object]) -> float:
    """Microseconds per call over `rounds` calls, after a warm-up of up to 200."""
    for _ in range(min(200, rounds)):
        call()
    began = time.perf_counter()
    for _ in range(rounds):
        call()
    return (time.perf_counter() - began) / rounds * 1e6


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of unsorted values; nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def ms(seconds: float) -> str:
    return "   n/a" if math.isnan(seconds) else f"{seconds * 1000:7.2f}"


@dataclass
class Usage:
    """What a phase cost: CPU seconds per process and database operations by kind."""

    cpu: dict[str, float] = field(default_factory=dict)
    db_ops: dict[str, int] = field(default_factory=dict)

    def minus(self, before: Usage) -> Usage:
        return Usage(
            cpu={k: v - before.cpu.get(k, 0.0) for k, v in self.cpu.items()},
            db_ops={k: v - before.db_ops.get(k, 0) for k, v in self.db_ops.items()},
        )


MACHINE = "machine"  # key of the whole machine's busy CPU time in Usage.cpu

Sampler = Callable[[], Awaitable[Usage]]


@dataclass
class LoadResult:
    name: str
    clients: int
    ops: int
    errors: int
    elapsed: float
    latencies: list[float]
    usage: Usage

    @property
    def rate(self) -> float:
        return self.ops / self.elapsed if self.elapsed > 0 else math.nan

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 99)

    def line(self, width: int = 44) -> str:
        return (
            f"  {self.name:<{width}} {self.rate:9.1f} /s   p50 {ms(self.p50)} ms   "
            f"p99 {ms(self.p99)} ms   n={self.ops} errors={self.errors}"
        )

    def cost_line(self, width: int = 44) -> str:
        total = self.ops + self.errors
        if total == 0:
            return ""
        own = {k: v for k, v in self.usage.cpu.items() if k != MACHINE}
        cpu = "  ".join(
            f"{name} {seconds / total * 1000:.3f} ms ({seconds / self.elapsed * 100:.0f}% core)"
            for name, seconds in own.items()
        )
        if MACHINE in self.usage.cpu:
            others = max(0.0, self.usage.cpu[MACHINE] - sum(own.values()))
            cpu += f"  | other processes {others / self.elapsed * 100:.0f}% core"
        db = " ".join(
            f"{kind} {count / total:.2f}" for kind, count in self.usage.db_ops.items() if count
        )
        return f"  {'':<{width}}   CPU/op: {cpu}\n  {'':<{width}}   db ops/op: {db or '-'}"


async def closed_loop(
    name: str,
    clients: int,
    seconds: float,
    operation: Callable[[int], Awaitable[bool]],
    sampler: Sampler,
    limit: int | None = None,
) -> LoadResult:
    """`clients` tasks, each calling operation(client) back to back for `seconds`, and no
    more than `limit` calls in all when it is given.

    An operation returns True when it succeeded; a False or an exception counts as an error
    (the exception types are collected and reported). Throughput = successes / wall time
    until the last in-flight operation finished.
    """
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    kinds: dict[str, int] = {}
    before = await sampler()
    started = time.perf_counter()
    deadline = started + seconds

    left = [math.inf if limit is None else limit]

    async def client(index: int) -> None:
        mine = latencies[index]
        clock = time.perf_counter
        while clock() < deadline and left[0] > 0:
            left[0] -= 1
            t0 = clock()
            try:
                ok = await operation(index)
            except Exception as exc:
                ok = False
                kinds[type(exc).__name__] = kinds.get(type(exc).__name__, 0) + 1
            if ok:
                mine.append(clock() - t0)
            else:
                errors[index] += 1

    await asyncio.gather(*(client(i) for i in range(clients)))
    elapsed = time.perf_counter() - started
    usage = (await sampler()).minus(before)
    flat = [x for per_client in latencies for x in per_client]
    if kinds:
        print(f"  ! {name}: exceptions {kinds}", flush=True)
    return LoadResult(name, clients, len(flat), sum(errors), elapsed, flat, usage)


def ratio(numerator: float, denominator: float) -> str:
    if denominator == 0 or math.isnan(numerator) or math.isnan(denominator):
        return "n/a"
    return f"{numerator / denominator:.2f}x"


def describe_counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "none"
