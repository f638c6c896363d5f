"""One write = one transaction: the member at version + 1, its ledger entries, issued rewards,
identifiers and the idempotency record commit together or not at all.

Why a transaction and not a single-document update: a change touches several documents (the
member, one or more ledger entries, an issued reward, identifier claims, the idempotency
record), and each of them must exist exactly when the others do. The member update filters on
the version read inside the transaction, so two writers on one member serialise: the loser's
transaction aborts and is run again on the winner's state. Events go out after the commit.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from db import ids
from db.audit import AuditNote, change_doc
from db.batch import WriteBatch
from db.client import Collections, Doc
from db.codec import (
    entry_from_doc,
    entry_to_doc,
    issued_from_doc,
    issued_to_doc,
    member_from_doc,
    member_to_doc,
)
from db.notifications import notice_to_doc
from db.reads import MAX_MERGE_HOPS, WRITES, Seen, identifier_key, writes_of
from db.tx_reads import TxReads
from loyalty.changes import ENTRY_SLOTS, Outcome
from loyalty.decisions.notice import Notice
from loyalty.errors import DomainError, ErrorCode
from loyalty.model import (
    ChangeKind,
    IdentifierKind,
    IssuedReward,
    LedgerEntry,
    LedgerEntryStatus,
    Member,
)

MAX_ATTEMPTS = 60
# The retry jitter's own generator: the process-wide one belongs to whoever seeds it.
_JITTER = random.Random()


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's key, scoped to the mutation field and the caller, with the request's hash."""

    field: str
    caller: str
    key: str
    fingerprint: str

    @property
    def record_id(self) -> str:
        return hashlib.sha256(f"{self.field}\0{self.caller}\0{self.key}".encode()).hexdigest()


def fingerprint(payload: dict[str, Any]) -> str:
    """A stable hash of a request's input (without its idempotency key)."""
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Committed:
    member: Member
    changes: tuple[ChangeKind, ...]
    entries: tuple[LedgerEntry, ...]
    issued: IssuedReward | None
    store_id: str | None
    replayed: bool = False
    related: tuple[Committed, ...] = ()  # other members changed in the same transaction
    limit_reached: str | None = None
    quiet: bool = False  # bookkeeping only (no new version): nothing to publish
    notices: tuple[Notice, ...] = ()  # notification intents committed with the change


class IdentifierTaken(Exception):
    def __init__(self, kind: IdentifierKind, value: str) -> None:
        super().__init__(f"{kind.value} already belongs to another member")
        self.kind = kind
        self.value = value


class _VersionMoved(Exception):
    """Another writer committed first; run the change again on the new state."""


class _KeyUsed(Exception):
    """The idempotency key was committed by another request meanwhile."""


Decide = Callable[[Member | None, TxReads], Awaitable[Outcome]]
OnCommit = Callable[[Committed], Awaitable[None]]
# Queues more documents on the change's writes (the outbox of subscriptions/outbox.py) and
# returns what it queued, which `Publish` gets with the change once it has committed.
Stage = Callable[[WriteBatch, Committed], object]
Publish = Callable[[Committed, object], Awaitable[None]]
Schedule = Callable[[Member], datetime | None]
# Runs on every outcome before it is written (decisioning's observe: cadence, journeys).
Refine = Callable[[Member | None, Outcome, datetime], Outcome]


class Writer:
    def __init__(
        self,
        client: AsyncMongoClient[Doc],
        c: Collections,
        on_commit: Publish,
        stage: Stage | None = None,
        schedule: Schedule | None = None,
        refine: Refine | None = None,
        on_notices: OnCommit | None = None,
        *,
        one_command: bool = False,
    ) -> None:
        self._client = client
        # The server takes bulkWrite (MongoDB 8.0+): a change's writes go in one command.
        self._one_command = one_command
        self._c = c
        self._on_commit = on_commit
        self._stage = stage
        # When a member's scheduled work falls due, stored as `dueAt` for the job runner.
        self._schedule = schedule
        self._refine = refine
        self._on_notices = on_notices

    async def commit(
        self,
        member_id: str | None,
        decide: Decide,
        idem: IdempotencyKey | None,
        actor: str,
        audit: AuditNote | None = None,
        *,
        at: datetime | None = None,
        seen: Seen | None = None,
    ) -> Committed:
        """Run `decide` on the member's current state and commit its outcome atomically.

        `member_id` None creates a member (enrolment). A retried idempotency key returns the
        first result and changes nothing; DomainErrors from `decide` abort and propagate.
        With `audit`, the change's audit record commits with it. `at` is the time the change is
        decided at (a scheduled run's time), given to `refine`; default now. `seen`: the member
        as the caller read it just before (its checks), so the transaction need not read it
        again; if anything wrote the member since, the change runs again on a fresh read.
        """
        # No look-up of the key first: the record's insert, last in the transaction, collides
        # with a committed one (_KeyUsed), and a refusal is checked against the records below.
        # What the stage queued in the run that committed, by id() of each change it staged.
        staged: dict[int, object] = {}
        for attempt in range(MAX_ATTEMPTS):
            try:
                run = functools.partial(
                    self._run,
                    member_id=member_id,
                    decide=decide,
                    idem=idem,
                    actor=actor,
                    audit=audit,
                    at=at,
                    seen=seen,
                    staged=staged,
                )
                # A session of its own, with nothing before the transaction to be causally
                # after; causal consistency would only add afterClusterTime to the first
                # command of a retried transaction, which the embedded server refuses on
                # bulkWrite (MongoDB accepts it there).
                async with self._client.start_session(causal_consistency=False) as session:
                    committed: Committed = await session.with_transaction(run)
            except (DomainError, IdentifierTaken):
                # A retry may be refused by the state its first run left (the points spent,
                # the identifier claimed, the order recorded): the first answer wins.
                earlier = await self._replay(idem) if idem is not None else None
                if earlier is None:
                    raise
                return earlier
            except _VersionMoved:
                seen = None  # what the caller read is out of date: read in the transaction
                # Jittered backoff, so a burst of writers on one member spreads out.
                await asyncio.sleep(_JITTER.uniform(0, min(0.002 * 2**attempt, 0.05)))
                continue
            except _KeyUsed:
                assert idem is not None
                earlier = await self._replay(idem)
                if earlier is None:  # pragma: no cover - the record was just seen
                    continue
                return earlier
            await self._publish(committed, staged)
            return committed
        raise RuntimeError(f"member {member_id}: too much contention, gave up after retries")

    async def _publish(self, committed: Committed, staged: dict[int, object]) -> None:
        """After the commit only: the change, then the other members it changed."""
        for done in (committed, *committed.related):
            if not done.quiet:
                await self._on_commit(done, staged.get(id(done)))
            if done.notices and self._on_notices is not None:
                await self._on_notices(done)

    def _doc(self, member: Member, writes: int) -> Doc:
        doc = member_to_doc(member)
        doc[WRITES] = writes
        if self._schedule is not None:
            doc["dueAt"] = self._schedule(member)
        return doc

    async def replay(self, idem: IdempotencyKey) -> Committed | None:
        """The first result of a key already used (IDEMPOTENCY_CONFLICT for another input),
        for commands whose checks would otherwise refuse a retry of what they already did."""
        return await self._replay(idem)

    async def _replay(self, idem: IdempotencyKey) -> Committed | None:
        record = await self._c.idempotency.find_one({"_id": idem.record_id})
        if record is None:
            return None
        if record["fingerprint"] != idem.fingerprint:
            raise DomainError(
                ErrorCode.IDEMPOTENCY_CONFLICT,
                "this idempotency key was used with a different request",
                ("input", "idempotencyKey"),
            )
        result = record["result"]
        return Committed(
            member=member_from_doc(result["member"]),
            changes=tuple(ChangeKind(k) for k in result["changes"]),
            entries=tuple(entry_from_doc(e) for e in result["entries"]),
            issued=issued_from_doc(result["issued"]) if result.get("issued") else None,
            store_id=result.get("storeId"),
            replayed=True,
            limit_reached=result.get("limitReached"),
        )

    async def _run(
        self,
        session: AsyncClientSession,
        member_id: str | None,
        decide: Decide,
        idem: IdempotencyKey | None,
        actor: str,
        audit: AuditNote | None = None,
        at: datetime | None = None,
        seen: Seen | None = None,
        staged: dict[int, object] | None = None,
    ) -> Committed:
        c = self._c
        if staged is not None:
            staged.clear()  # a run before this one aborted, and its rows with it
        batch = WriteBatch(self._client, one_command=self._one_command)
        before: Member | None = None
        writes: int | None = None
        if seen is not None and seen.address == member_id and seen.writes is not None:
            # Read just before the transaction: the replace filters on its write count, so a
            # write meanwhile (a quiet one too) makes this change run again on a fresh read.
            before, writes = seen.member, seen.writes
        elif member_id is not None:
            doc = await c.members.find_one({"_id": member_id}, session=session)
            for _ in range(MAX_MERGE_HOPS):
                # A write addressed to a merged member applies to its survivor; read in the
                # same transaction, so a merge committing meanwhile makes this one run again.
                if doc is None or not doc.get("mergedInto"):
                    break
                doc = await c.members.find_one({"_id": doc["mergedInto"]}, session=session)
            if doc is None or doc.get("mergedInto"):
                raise DomainError(ErrorCode.NOT_FOUND, "no such member", ("input", "memberId"))
            before, writes = member_from_doc(doc), writes_of(doc)
        tx = TxReads(c, session)
        outcome = await decide(before, tx)
        now = datetime.now(UTC)
        # Entries of a write addressed to a merged member say so: an unmerge gives them back.
        via = member_id if before is not None and member_id != before.id else None
        committed = await self._apply(
            session, batch, before, writes, outcome, actor, now, at or now, via
        )
        related: list[Committed] = []
        if outcome.related:
            await batch.send(session)  # what the reads below see includes this change
        for other in outcome.related:
            doc = await c.members.find_one({"_id": other.member_id}, session=session)
            if doc is None:
                continue
            them = member_from_doc(doc)
            earlier = await tx.entries_for_order(them.id, other.order_id) if other.order_id else []
            theirs = other.apply(them, earlier)
            if theirs is not None:
                related.append(
                    await self._apply(
                        session, batch, them, writes_of(doc), theirs, actor, now, at or now
                    )
                )
        committed = replace(committed, related=tuple(related))
        if audit is not None and not committed.quiet:
            reason = audit.reason or next((e.reason for e in committed.entries if e.reason), None)
            details: dict[str, object] = dict(outcome.details)
            details["version"] = committed.member.version
            details["points"] = sum(e.points for e in committed.entries)
            note = replace(audit, reason=reason)
            batch.insert(c.audit, change_doc(note, committed.member.id, details, now))
        if idem is not None:
            batch.insert(c.idempotency, self._record(idem, committed, now), on_duplicate=_KeyUsed())
        if self._stage is not None:
            # Each member's change is its own event, written in the same command as the change
            # (one more round trip per change otherwise). A change that moved on or a used key
            # aborts the transaction, and its staged rows with it.
            for done in (committed, *committed.related):
                if not done.quiet:
                    queued = self._stage(batch, done)
                    if staged is not None:
                        staged[id(done)] = queued
        await batch.send(session)
        return committed

    async def _apply(
        self,
        session: AsyncClientSession,
        batch: WriteBatch,
        before: Member | None,
        writes: int | None,
        outcome: Outcome,
        actor: str,
        now: datetime,
        at: datetime,
        via: str | None = None,
    ) -> Committed:
        """Write one member's outcome: the member, identifiers, entries, marks, rewards.
        `writes` is the stored write count `before` was read with (None: not stored yet).
        Identifier claims are written at once, after the member (a taken one refuses the
        change); the rest is queued on `batch`."""
        c = self._c
        if self._refine is not None:
            outcome = self._refine(before, outcome, at)
        after = outcome.member
        quiet = not outcome.changes
        if before is None:
            batch.insert(c.members, self._doc(after, 1))
        else:
            step = 0 if quiet else 1
            assert after.version == before.version + step, "a change raises the version by one"
            current: Doc = {"_id": before.id, "version": before.version}
            if writes is not None:
                current[WRITES] = writes
            doc = self._doc(after, (writes or 0) + 1)
            batch.replace(c.members, current, doc, must_match=_VersionMoved())
        for notice in outcome.notices:
            batch.insert(c.notifications, notice_to_doc(after.id, notice))
        if quiet:
            return Committed(after, (), (), None, None, quiet=True, notices=outcome.notices)
        if before is not None and before.identifiers != after.identifiers:
            # The member first: a change whose member moved on must run again, not find its
            # own identifier claimed by the change that won.
            await batch.send(session)
        await self._sync_identifiers(session, before, after, outcome.absorbs)
        entries = tuple(
            LedgerEntry(
                id=ids.new_id(ids.ENTRY),
                member_id=after.id,
                seq=after.version * ENTRY_SLOTS + position,
                kind=draft.kind,
                points=draft.points,
                balance_after=draft.balance_after,
                channel=draft.channel,
                store_id=draft.store_id,
                description=draft.description,
                reason=draft.reason,
                occurred_at=draft.occurred_at,
                recorded_at=now,
                status=draft.status,
                available_at=draft.available_at,
                actor=actor,
                order_id=draft.order_id,
                amount=draft.amount,
                reverses=draft.reverses,
                via=via,
            )
            for position, draft in enumerate(outcome.entries)
        )
        for entry in entries:
            batch.insert(c.ledger, entry_to_doc(entry))
        for mark in outcome.marks:
            fields: dict[str, Any] = {}
            if mark.reversed_by is not None:
                fields["reversedBy"] = entries[mark.reversed_by].id
            if mark.returned_amount is not None:
                fields["returnedAmount"] = mark.returned_amount
            if mark.returned_points is not None:
                fields["returnedPoints"] = mark.returned_points
            # By id alone: after a merge the entry may belong to the merged member.
            batch.update_one(c.ledger, {"_id": mark.entry_id}, {"$set": fields})
        if outcome.released:
            batch.update_many(
                c.ledger,
                {"memberId": after.id, "seq": {"$in": list(outcome.released)}},
                {"$set": {"status": LedgerEntryStatus.AVAILABLE.value}},
            )
        if outcome.joins_guests:
            batch.delete_many(c.guests, {"_id": {"$in": list(outcome.joins_guests)}})
        if outcome.absorbs is not None and outcome.adopt_rewards:
            batch.update_many(
                c.issued_rewards,
                {"_id": {"$in": list(outcome.adopt_rewards)}, "memberId": outcome.absorbs},
                {"$set": {"memberId": after.id}},
            )
        issued = None
        if outcome.issue is not None:
            draft = outcome.issue
            issued = IssuedReward(
                id=ids.new_id(ids.ISSUED),
                member_id=after.id,
                reward_id=draft.reward_id,
                code=draft.code,
                status=draft.status,
                issued_at=draft.issued_at,
                expires_at=draft.expires_at,
            )
            batch.insert(c.issued_rewards, issued_to_doc(issued))
        if outcome.used_reward is not None:
            issued = outcome.used_reward
            batch.replace(c.issued_rewards, {"_id": issued.id}, issued_to_doc(issued))
        return Committed(
            after,
            outcome.changes,
            entries,
            issued,
            outcome.store_id,
            limit_reached=outcome.limit_reached,
            notices=outcome.notices,
        )

    async def _sync_identifiers(
        self,
        session: AsyncClientSession,
        before: Member | None,
        after: Member,
        absorbs: str | None = None,
    ) -> None:
        """Claim identifiers the change added and release those it removed; those of a member
        being merged into this one change owner in place."""
        had = {(i.kind, i.value) for i in before.identifiers} if before else set()
        has = {(i.kind, i.value) for i in after.identifiers}
        for kind, value in sorted(has - had):
            if absorbs is not None:
                moved = await self._c.identifiers.update_one(
                    {"_id": identifier_key(kind, value), "memberId": absorbs},
                    {"$set": {"memberId": after.id}},
                    session=session,
                )
                if moved.matched_count == 1:
                    continue
            try:
                await self._c.identifiers.insert_one(
                    {"_id": identifier_key(kind, value), "memberId": after.id}, session=session
                )
            except DuplicateKeyError:
                raise IdentifierTaken(kind, value) from None
        for kind, value in sorted(had - has):
            await self._c.identifiers.delete_one(
                {"_id": identifier_key(kind, value), "memberId": after.id}, session=session
            )

    def _record(self, idem: IdempotencyKey, done: Committed, now: datetime) -> Doc:
        """The idempotency record: the key's scope, the request's hash and what to answer."""
        result = {
            "member": member_to_doc(done.member),
            "changes": [k.value for k in done.changes],
            "entries": [entry_to_doc(e) for e in done.entries],
            "issued": issued_to_doc(done.issued) if done.issued else None,
            "storeId": done.store_id,
            "limitReached": done.limit_reached,
        }
        return {
            "_id": idem.record_id,
            "field": idem.field,
            "fingerprint": idem.fingerprint,
            "result": result,
            "createdAt": now,
        }
