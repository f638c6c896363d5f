"""The scheduled jobs: pending release, expiry, birthday bonus and tier re-evaluation.

One runner at a time across processes: a lease in MongoDB (`leases`), taken by inserting it
or by taking over an expired one with a filter on its expiry, renewed between members.
Each member's due work is one change through the Writer (one transaction, pushed on
memberUpdated like any other change). The rule applied is idempotent, so a run interrupted
after any member and run again has one effect: done members are no longer due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pymongo.errors import DuplicateKeyError

from db.client import Collections
from db.commit import Writer
from db.tx_reads import TxReads
from loyalty.changes import Outcome
from loyalty.model import Member
from loyalty.program import ProgramDef
from loyalty.schedule import run_due

log = logging.getLogger("jobs")

LEASE = "points-jobs"
ACTOR = "scheduler"


@dataclass(frozen=True)
class RunReport:
    ran: bool  # False when another process held the lease
    members: int = 0  # members whose due work was applied


Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(UTC)


class Lease:
    """A named lease: one holder at a time, until it expires or is released.

    It runs on the wall clock, never on the time a job runs as (`jobs run --at` a future date
    must not leave a lease that blocks every runner until then).
    """

    def __init__(
        self,
        c: Collections,
        name: str,
        ttl: timedelta,
        owner: str | None = None,
        clock: Clock = wall_clock,
    ):
        self._c = c
        self._name = name
        self._ttl = ttl
        self._clock = clock
        self.owner = owner or uuid.uuid4().hex

    async def acquire(self) -> bool:
        now = self._clock()
        until = now + self._ttl
        try:
            await self._c.leases.insert_one(
                {"_id": self._name, "owner": self.owner, "until": until}
            )
            return True
        except DuplicateKeyError:
            pass
        # Held by us (renewal) or expired: either filter matches at most this one document.
        for held in ({"owner": self.owner}, {"until": {"$lte": now}}):
            taken = await self._c.leases.update_one(
                {"_id": self._name, **held}, {"$set": {"owner": self.owner, "until": until}}
            )
            if taken.matched_count == 1:
                return True
        return False

    async def release(self) -> None:
        await self._c.leases.delete_one({"_id": self._name, "owner": self.owner})


class JobRunner:
    def __init__(
        self,
        c: Collections,
        writer: Writer,
        program: ProgramDef,
        *,
        lease_ttl: timedelta = timedelta(seconds=60),
        batch: int = 200,
        owner: str | None = None,
        clock: Clock = wall_clock,
    ) -> None:
        self._c = c
        self._writer = writer
        self._program = program
        self._batch = batch
        self.lease = Lease(c, LEASE, lease_ttl, owner, clock)

    def as_owner(self, owner: str, clock: Clock = wall_clock) -> JobRunner:
        """The same jobs under another lease owner (another process, as far as the lease knows)."""
        return JobRunner(
            self._c, self._writer, self._program, batch=self._batch, owner=owner, clock=clock
        )

    async def due_members(self, now: datetime, limit: int) -> list[str]:
        docs = self._c.members.find({"dueAt": {"$lte": now}}, {"_id": 1}).limit(limit)
        return [d["_id"] async for d in docs]

    async def run_member(self, member_id: str, now: datetime) -> bool:
        """Apply what is due for one member; False when nothing was (any longer) due."""
        program = self._program

        async def decide(member: Member | None, _: TxReads) -> Outcome:
            assert member is not None
            return run_due(member, program, now, ACTOR)

        done = await self._writer.commit(member_id, decide, None, ACTOR, at=now)
        return not done.quiet

    async def run_once(self, now: datetime, *, limit: int | None = None) -> RunReport:
        """Run every due member once (at most `limit`), if this process gets the lease."""
        if not await self.lease.acquire():
            return RunReport(ran=False)
        count = 0
        try:
            seen: set[str] = set()
            while limit is None or count < limit:
                batch = [m for m in await self.due_members(now, self._batch) if m not in seen]
                if not batch:
                    break
                for member_id in batch:
                    if limit is not None and count >= limit:
                        break
                    if not await self.lease.acquire():  # renew; lost it: stop here
                        return RunReport(ran=True, members=count)
                    seen.add(member_id)
                    await self.run_member(member_id, now)
                    count += 1
        finally:
            await self.lease.release()
        if count:
            log.info("jobs.ran", extra={"members": count})
        return RunReport(ran=True, members=count)

    async def run_forever(self, interval: float, clock: Clock) -> None:
        """The in-service loop: every `interval` seconds; a failing run is logged, not fatal."""
        while True:
            try:
                await self.run_once(clock())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("jobs.failed")
            await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def running(runner: JobRunner, interval: float, clock: Clock) -> AsyncIterator[None]:
    """Run the job loop in the background for the life of the block."""
    task = asyncio.create_task(runner.run_forever(interval, clock))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
