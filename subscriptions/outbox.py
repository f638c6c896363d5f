"""The transactional outbox: no committed change is lost between the commit and the publish.

Every change writes its event message into the `outbox` collection inside the change's own
transaction (`stage`), so the message exists exactly when the change does. After the commit the
writer publishes it at once (`after_commit`) and the outbox row is deleted in a batch. If the
process dies between the commit and the publish, or Redis is away, the row stays; the relay of
every process publishes rows older than a grace period and deletes them.

A message may therefore be published twice (a slow writer and a relay, or two relays); that is
harmless because subscribers drop every version at or below the last one they sent. Rows of one
member are relayed in version order.

Why an outbox rather than change streams: it works on any Mongo-wire server (change streams need
a replica set's oplog, and a watcher per process would publish every change once per process or
need leader election and a stored resume token), it adds no latency to the normal path (the
writer still publishes directly), and its cost is one more write in the change's own command and one
batched delete (measured in benchmarks/RESULTS.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DeleteMany, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from db.batch import WriteBatch
from db.commit import Committed
from subscriptions.bus import EventBus, channels_of
from subscriptions.events import EventFormat, encode
from subscriptions.metrics import OUTBOX_RELAYED, OUTBOX_STAGED

log = logging.getLogger("outbox")

Doc = dict[str, Any]
COLLECTION = "outbox"
_RELAY_BATCH = 500
# Ids per `$in` of a delete: the embedded server's cost of one `_id: {$in}` grows faster than
# its length (20 ids 3 ms, 200 ids 77 ms, 500 ids 418 ms), so a backlog of published rows made
# each delete slower and the backlog longer. In chunks of 20 it stays ~0.15 ms an id, and a
# MongoDB server is no worse for it. One command still carries every chunk.
_DELETE_CHUNK = 20


def row_id(member_id: str, version: int) -> str:
    return f"{member_id}:{version}"


class Outbox:
    def __init__(
        self,
        db: AsyncDatabase[Doc],
        bus: EventBus,
        *,
        grace: float = 2.0,
        interval: float = 1.0,
        kill_after_commit: bool = False,
        event_format: EventFormat = "binary",
    ) -> None:
        self._rows = db[COLLECTION]
        self._bus = bus
        self._grace = timedelta(seconds=grace)
        self._interval = interval
        self._kill_after_commit = kill_after_commit
        self._format: EventFormat = event_format
        self._published: list[str] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._rows.create_indexes([IndexModel([("createdAt", ASCENDING)])])
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self._delete_published()

    def stage(self, batch: WriteBatch, done: Committed) -> Doc:
        """Queued with the change's writes: the message to publish, committed with the change.
        The row comes back to `after_commit`, so the change is encoded once."""
        row = {
            "_id": row_id(done.member.id, done.member.version),
            "memberId": done.member.id,
            "version": done.member.version,
            "channels": channels_of(done),
            "message": encode(done, self._format),
            "createdAt": datetime.now(UTC),
        }
        batch.insert(self._rows, row)
        return row

    async def after_commit(self, done: Committed, staged: object) -> None:
        """The normal path: publish the committed row's message at once; the row goes when the
        publish succeeded. `staged`: the row `stage` queued for this change (None: no outbox
        row was staged, as when the writer has no stage; the message is built here)."""
        OUTBOX_STAGED.inc()
        if self._kill_after_commit:
            # Test hook: die exactly between the commit and the publish.
            os.kill(os.getpid(), signal.SIGKILL)
        if isinstance(staged, dict):
            channels, message = staged["channels"], staged["message"]
        else:
            channels, message = channels_of(done), encode(done, self._format)
        if await self._bus.publish_all(channels, message):
            self._published.append(row_id(done.member.id, done.member.version))

    async def relay(self) -> int:
        """Publish rows older than the grace period (their writer died or Redis was away)."""
        cutoff = datetime.now(UTC) - self._grace
        rows = await self._rows.find({"createdAt": {"$lt": cutoff}}).limit(_RELAY_BATCH).to_list()
        rows.sort(key=lambda row: (row["memberId"], row["version"]))
        sent: list[str] = []
        for row in rows:
            if not await self._bus.publish_all(list(row["channels"]), row["message"]):
                break  # Redis is away: keep the rest (and the order) for the next round
            sent.append(row["_id"])
        if sent:
            OUTBOX_RELAYED.inc(len(sent))
            log.info("outbox.relayed", extra={"rows": len(sent)})
            await self._delete(sent)
        return len(sent)

    async def _delete_published(self) -> None:
        done, self._published = self._published, []
        if done:
            await self._delete(done)

    async def _delete(self, ids: list[str]) -> None:
        chunks = [ids[at : at + _DELETE_CHUNK] for at in range(0, len(ids), _DELETE_CHUNK)]
        await self._rows.bulk_write(
            [DeleteMany({"_id": {"$in": chunk}}) for chunk in chunks], ordered=False
        )

    async def _run(self) -> None:
        # Deletes are batched often; the relay scan runs every `interval`.
        ticks = max(1, round(self._interval / 0.1))
        tick = 0
        while True:
            await asyncio.sleep(min(0.1, self._interval))
            tick += 1
            try:
                await self._delete_published()
                if tick % ticks == 0:
                    await self.relay()
            except Exception:
                log.warning("outbox.relay_failed", exc_info=True)
