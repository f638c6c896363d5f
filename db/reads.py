"""Reads: members, identifiers, ledger pages and issued rewards."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from db import crypto
from db.client import Collections, Doc
from db.codec import entry_from_doc, hashed_match_key, issued_from_doc, member_from_doc
from loyalty.changes import ENTRY_SLOTS
from loyalty.model import IdentifierKind, IssuedReward, LedgerEntry, LedgerEntryKind, Member
from loyalty.stats import Figures


def identifier_key(kind: IdentifierKind, value: str) -> str:
    """The identifiers collection's primary key for a normalised identifier: the kind and the
    keyed hash of kind and value (db/crypto.py), so the collection holds no identifier."""
    return f"{kind.value}:{crypto.cipher().lookup(f'{kind.value}:{value}')}"


MAX_MERGE_HOPS = 8  # merged into a member that was merged in turn, and so on

# Stored on every member document: how often it was written, quiet writes (no new version)
# included. A write that starts from a read made before its transaction filters on it, so it
# applies only to the document it read (db/commit.py).
WRITES = "writes"


@dataclass(frozen=True)
class Seen:
    """A live member as read before a write, for the write's transaction to start from."""

    address: str  # the id the request named: itself, or a member merged into this one
    member: Member
    writes: int | None  # None: the document predates the count, so the write reads it again


class Reads:
    def __init__(self, c: Collections) -> None:
        self._c = c

    @property
    def collections(self) -> Collections:
        return self._c

    async def members(self, ids: Sequence[str]) -> dict[str, Member]:
        # `_id: {$in}` keeps to the _id index (no top-level operator in the filter).
        docs = self._c.members.find({"_id": {"$in": list(ids)}})
        return {d["_id"]: member_from_doc(d) async for d in docs}

    async def member(self, member_id: str) -> Member | None:
        doc = await self._c.members.find_one({"_id": member_id})
        return member_from_doc(doc) if doc else None

    async def live_member(self, member_id: str) -> Member | None:
        """The member an id leads to: itself, or the survivor its merge moved it to."""
        return await self.follow(await self.member(member_id))

    async def seen_member(self, member_id: str) -> Seen | None:
        """live_member, with what a write needs to start from it (Writer.commit's `seen`)."""
        doc = await self._c.members.find_one({"_id": member_id})
        for _ in range(MAX_MERGE_HOPS):
            if doc is None or not doc.get("mergedInto"):
                break
            doc = await self._c.members.find_one({"_id": doc["mergedInto"]})
        if doc is None or doc.get("mergedInto"):
            return None
        return Seen(member_id, member_from_doc(doc), writes_of(doc))

    async def follow(self, member: Member | None) -> Member | None:
        for _ in range(MAX_MERGE_HOPS):
            if member is None or member.merged_into is None:
                return member
            member = await self.member(member.merged_into)
        return None

    async def member_id_by_identifier(self, kind: IdentifierKind, value: str) -> str | None:
        doc = await self._c.identifiers.find_one({"_id": identifier_key(kind, value)})
        return doc["memberId"] if doc else None

    async def members_sharing(self, keys: Sequence[str], limit: int) -> list[tuple[str, list[str]]]:
        """Up to `limit` members holding any of the match keys, with the keys they share (the
        stored keys are keyed hashes; the ones shared are given back as the caller's)."""
        if not keys:
            return []
        plain = {hashed_match_key(k): k for k in keys}
        docs = self._c.members.find(
            {"matchKeys": {"$in": list(plain)}}, {"matchKeys": 1}, limit=limit
        )
        return [
            (d["_id"], [plain[h] for h in d.get("matchKeys", []) if h in plain]) async for d in docs
        ]

    async def entries(self, ids: Sequence[str]) -> dict[str, LedgerEntry]:
        docs = self._c.ledger.find({"_id": {"$in": list(ids)}})
        return {d["_id"]: entry_from_doc(d) async for d in docs}

    async def activity_page(
        self, member_id: str, first: int, before_seq: int | None, version: int
    ) -> list[LedgerEntry]:
        """Up to `first` entries, newest first, older than the cursor's seq when given.

        Read in seq windows going back from the member's version (no entry of it has a seq
        at or above (version + 1) x ENTRY_SLOTS), each twice as wide as the last: every query
        is an equality on memberId plus a range on seq, so a member with 10,000 entries costs
        what a new one does on any server, including one that sorts a member's whole history
        in memory for a plain sort + limit (the embedded development server does).
        """
        hi = before_seq if before_seq is not None else (version + 1) * ENTRY_SLOTS
        span = max(first, 1) * ENTRY_SLOTS
        found: list[LedgerEntry] = []
        while hi > 0 and len(found) < first:
            lo = max(hi - span, 0)
            query = {"memberId": member_id, "seq": {"$gte": lo, "$lt": hi}}
            docs = self._c.ledger.find(query).sort("seq", -1).limit(first - len(found))
            found.extend([entry_from_doc(d) async for d in docs])
            hi, span = lo, span * 2
        return found

    async def issued_rewards(self, member_ids: Sequence[str]) -> dict[str, list[IssuedReward]]:
        found: dict[str, list[IssuedReward]] = {m: [] for m in member_ids}
        docs = self._c.issued_rewards.find({"memberId": {"$in": list(member_ids)}})
        async for d in docs:
            found[d["memberId"]].append(issued_from_doc(d))
        for rewards in found.values():
            rewards.sort(key=lambda r: (r.issued_at, r.id), reverse=True)
        return found

    async def issued_reward(self, issued_id: str) -> IssuedReward | None:
        doc = await self._c.issued_rewards.find_one({"_id": issued_id})
        return issued_from_doc(doc) if doc else None


def writes_of(doc: Doc) -> int | None:
    """A member document's write count (WRITES), None when it predates the count."""
    count = doc.get(WRITES)
    return count if isinstance(count, int) else None


async def stats_figures(c: Collections, start: datetime, end: datetime) -> Figures:
    """The sums behind programStats: counts on indexed fields, and one grouped pass each over
    the period's ledger entries and over the balances."""
    members = await c.members.count_documents({})
    active = [
        await c.members.count_documents({"lastActivityAt": {"$gte": end - timedelta(days=d)}})
        for d in (30, 90)
    ]
    by_kind: dict[LedgerEntryKind, tuple[int, int]] = {}
    period = await c.ledger.aggregate(
        [
            {"$match": {"recordedAt": {"$gte": start, "$lt": end}}},
            {
                "$group": {
                    "_id": "$kind",
                    "gains": {"$sum": {"$cond": [{"$gt": ["$points", 0]}, "$points", 0]}},
                    "losses": {"$sum": {"$cond": [{"$lt": ["$points", 0]}, "$points", 0]}},
                }
            },
        ]
    )
    async for row in period:
        by_kind[LedgerEntryKind(row["_id"])] = (int(row["gains"]), int(row["losses"]))
    held = await c.members.aggregate(
        [
            {
                "$group": {
                    "_id": None,
                    "available": {"$sum": "$balance.available"},
                    "pending": {"$sum": "$balance.pending"},
                }
            }
        ]
    )
    outstanding = 0
    async for row in held:
        outstanding = int(row["available"]) + int(row["pending"])
    return Figures(members, active[0], active[1], by_kind, outstanding)


async def everything_about(reads: Reads, member_id: str) -> dict[str, object]:
    """Every document held about a member, decoded (exportMember): the member, its ledger, its
    issued rewards and its audit trail."""
    c = reads.collections
    member = await reads.member(member_id)
    ledger = [entry_from_doc(d) async for d in c.ledger.find({"memberId": member_id}).sort("seq")]
    issued = (await reads.issued_rewards([member_id]))[member_id]
    trail = [
        {k: v for k, v in d.items() if k != "_id"} | {"id": d["_id"]}
        async for d in c.audit.find({"memberId": member_id}).sort("_id")
    ]
    return {"member": member, "ledger": ledger, "issuedRewards": issued, "audit": trail}
