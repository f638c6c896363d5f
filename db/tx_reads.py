"""Reads inside a running transaction (db/commit.py), for rules that need more than the member:
what they see is the transaction's own snapshot, with its writes so far."""

from __future__ import annotations

from pymongo.asynchronous.client_session import AsyncClientSession

from db import guests
from db.client import Collections
from db.codec import entry_from_doc, issued_from_doc, member_from_doc
from loyalty.guests import GuestActivity
from loyalty.model import IssuedReward, LedgerEntry, Member


class TxReads:
    """Reads inside the running transaction, for rules that need more than the member."""

    def __init__(self, c: Collections, session: AsyncClientSession) -> None:
        self._c = c
        self._session = session

    async def member(self, member_id: str) -> Member | None:
        """A member as stored, tombstone or not (the change itself follows merges)."""
        doc = await self._c.members.find_one({"_id": member_id}, session=self._session)
        return member_from_doc(doc) if doc else None

    async def guest_activities(self, keys: list[str]) -> list[GuestActivity]:
        """Guests' activities, to join the member; the change deletes the guests."""
        return await guests.take(self._c, self._session, keys)

    async def entries_via(self, member_id: str, via: str) -> list[LedgerEntry]:
        """A member's entries written by requests addressed to `via` (a merged member)."""
        docs = self._c.ledger.find({"memberId": member_id, "via": via}, session=self._session)
        return [entry_from_doc(d) async for d in docs.sort("seq", 1)]

    async def issued_reward_ids(self, member_id: str) -> tuple[str, ...]:
        docs = self._c.issued_rewards.find(
            {"memberId": member_id}, {"_id": 1}, session=self._session
        )
        return tuple(sorted([d["_id"] async for d in docs]))

    async def issued_reward(self, issued_id: str) -> IssuedReward | None:
        doc = await self._c.issued_rewards.find_one({"_id": issued_id}, session=self._session)
        return issued_from_doc(doc) if doc else None

    async def entry(self, entry_id: str) -> LedgerEntry | None:
        doc = await self._c.ledger.find_one({"_id": entry_id}, session=self._session)
        return entry_from_doc(doc) if doc else None

    async def entries_for_order(self, member_id: str, order_id: str) -> list[LedgerEntry]:
        """A member's entries of one order (index member_order), oldest first."""
        docs = self._c.ledger.find(
            {"memberId": member_id, "orderId": order_id}, session=self._session
        ).sort("seq", 1)
        return [entry_from_doc(d) async for d in docs]
