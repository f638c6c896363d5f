"""The writes of one transaction, sent together.

A change writes the member, its ledger entries, the audit record and the idempotency record (and
sometimes marks, rewards, notifications), each in a collection of its own. Sent one command per
write, each costs a round trip and the server's per-command work; MongoDB 8.0's `bulkWrite`
command takes writes to several collections at once, so they cost one (measured in
benchmarks/RESULTS.md). A server without it (before 8.0) gets one command per write, in the same
order and with the same outcome.

What a caller needs from the results is said when it queues the write: `must_match` for a
replace filtered on what was read (nothing matched: the document moved), `on_duplicate` for an
insert whose `_id` may already exist (the idempotency record).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pymongo import AsyncMongoClient, DeleteMany, InsertOne, ReplaceOne, UpdateMany, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import ClientBulkWriteException, DuplicateKeyError, PyMongoError
from pymongo.results import UpdateResult

Doc = dict[str, Any]
BULK_WRITE_WIRE_VERSION = 25  # MongoDB 8.0
_DUPLICATE_KEY = 11000


@dataclass(frozen=True)
class _Write:
    kind: str  # insert, replace, update_one, update_many, delete_many
    collection: AsyncCollection[Doc]
    filter: Doc
    body: Doc  # the document, or the update
    must_match: Exception | None = None
    on_duplicate: Exception | None = None

    def model(self) -> Any:
        ns = self.collection.full_name
        if self.kind == "insert":
            return InsertOne(self.body, namespace=ns)
        if self.kind == "replace":
            return ReplaceOne(self.filter, self.body, namespace=ns)
        if self.kind == "update_one":
            return UpdateOne(self.filter, self.body, namespace=ns)
        if self.kind == "update_many":
            return UpdateMany(self.filter, self.body, namespace=ns)
        return DeleteMany(self.filter, namespace=ns)

    async def run(self, session: AsyncClientSession) -> int:
        """This write alone; the count it matched (inserts: 1)."""
        c = self.collection
        if self.kind == "insert":
            await c.insert_one(self.body, session=session)
            return 1
        if self.kind == "replace":
            return (await c.replace_one(self.filter, self.body, session=session)).matched_count
        if self.kind == "update_one":
            return (await c.update_one(self.filter, self.body, session=session)).matched_count
        if self.kind == "update_many":
            return (await c.update_many(self.filter, self.body, session=session)).matched_count
        return (await c.delete_many(self.filter, session=session)).deleted_count


class WriteBatch:
    """Writes queued in order and sent by `send`, inside the caller's transaction."""

    def __init__(self, client: AsyncMongoClient[Doc], *, one_command: bool) -> None:
        self._client = client
        self._one_command = one_command
        self._writes: list[_Write] = []

    def insert(
        self,
        collection: AsyncCollection[Doc],
        doc: Doc,
        *,
        on_duplicate: Exception | None = None,
    ) -> None:
        self._writes.append(_Write("insert", collection, {}, doc, on_duplicate=on_duplicate))

    def replace(
        self,
        collection: AsyncCollection[Doc],
        filter: Doc,
        doc: Doc,
        *,
        must_match: Exception | None = None,
    ) -> None:
        self._writes.append(_Write("replace", collection, filter, doc, must_match=must_match))

    def update_one(self, collection: AsyncCollection[Doc], filter: Doc, update: Doc) -> None:
        self._writes.append(_Write("update_one", collection, filter, update))

    def update_many(self, collection: AsyncCollection[Doc], filter: Doc, update: Doc) -> None:
        self._writes.append(_Write("update_many", collection, filter, update))

    def delete_many(self, collection: AsyncCollection[Doc], filter: Doc) -> None:
        self._writes.append(_Write("delete_many", collection, filter, {}))

    async def send(self, session: AsyncClientSession) -> None:
        """Send what is queued. Raises a write's `must_match` when it matched nothing and an
        insert's `on_duplicate` when its `_id` exists; any other failure as the driver's."""
        writes, self._writes = self._writes, []
        if not writes:
            return
        if not self._one_command:
            for write in writes:
                await _alone(write, session)
            return
        try:
            result = await self._client.bulk_write(
                [w.model() for w in writes], session=session, verbose_results=True
            )
        except ClientBulkWriteException as failed:
            if isinstance(failed.error, PyMongoError):
                # The command failed as a whole (a write conflict, say): raised as itself, so
                # its TransientTransactionError label still makes with_transaction run again.
                raise failed.error from failed
            # A document that moved explains what failed after it (the winner's notification
            # already there, say), as it does when each write goes alone and stops there.
            done = failed.partial_result
            _check_matched(writes, done.update_results if done is not None else {}, ran=False)
            for error in failed.details.get("writeErrors") or []:  # dicts, whatever the stubs say
                refusal = writes[error["idx"]].on_duplicate
                if error.get("code") == _DUPLICATE_KEY and refusal is not None:
                    raise refusal from None
            raise
        _check_matched(writes, result.update_results, ran=True)


def _check_matched(writes: list[_Write], results: Mapping[int, UpdateResult], *, ran: bool) -> None:
    """Raise the `must_match` of the first write that matched nothing; `ran`: every write ran
    (otherwise those without a result did not, and say nothing)."""
    for index, write in enumerate(writes):
        if write.must_match is None:
            continue
        found = results.get(index)
        if found is None and not ran:
            continue
        if found is None or found.matched_count < 1:
            raise write.must_match


async def _alone(write: _Write, session: AsyncClientSession) -> None:
    try:
        matched = await write.run(session)
    except DuplicateKeyError:
        if write.on_duplicate is None:
            raise
        raise write.on_duplicate from None
    if write.must_match is not None and matched < 1:
        raise write.must_match


async def supports_one_command(client: AsyncMongoClient[Doc]) -> bool:
    """Whether the server takes `bulkWrite` (MongoDB 8.0 and later)."""
    hello = await client.admin.command("hello")
    return int(hello.get("maxWireVersion", 0)) >= BULK_WRITE_WIRE_VERSION
