"""The MongoDB client and the collections, with their indexes created idempotently at start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from db.notifications import Notifications

IDEMPOTENCY_RETENTION_SECONDS = 7 * 24 * 3600

Doc = dict[str, Any]


@dataclass(frozen=True)
class Collections:
    members: AsyncCollection[Doc]
    identifiers: AsyncCollection[Doc]
    ledger: AsyncCollection[Doc]
    issued_rewards: AsyncCollection[Doc]
    idempotency: AsyncCollection[Doc]
    leases: AsyncCollection[Doc]
    audit: AsyncCollection[Doc]
    guests: AsyncCollection[Doc]
    notifications: AsyncCollection[Doc]  # notification intents of journeys (db/notifications.py)


def connect(uri: str, *, retry_writes: bool) -> AsyncMongoClient[Doc]:
    """A client that returns timezone-aware datetimes (all times are UTC)."""
    return AsyncMongoClient(
        uri,
        tz_aware=True,
        retryWrites=retry_writes,
        serverSelectionTimeoutMS=5000,
        appname="member-state-api",
    )


def collections(db: AsyncDatabase[Doc]) -> Collections:
    return Collections(
        members=db["members"],
        identifiers=db["identifiers"],
        ledger=db["ledger"],
        issued_rewards=db["issued_rewards"],
        idempotency=db["idempotency"],
        leases=db["leases"],
        audit=db["audit"],
        guests=db["guests"],
        notifications=db["notifications"],
    )


async def ensure_indexes(c: Collections) -> None:
    """Create every index the queries rely on; a no-op when they already exist."""
    # The audit trail, newest first: all of it, or one member's (ids rise with time).
    await c.audit.create_indexes(
        [IndexModel([("memberId", ASCENDING), ("_id", DESCENDING)], name="member_newest")]
    )
    # identifiers: the _id is "KIND:normalised value", so the primary key is the race-safe
    # guard that one identifier has one owner; memberId finds a member's identifiers.
    await c.identifiers.create_indexes([IndexModel([("memberId", ASCENDING)])])
    # Variants of emails and phones, name + birthday: duplicateCandidates in one query.
    await c.members.create_indexes([IndexModel([("matchKeys", ASCENDING)], name="match_keys")])
    # The activity connection: a member's entries newest first, paged by seq.
    await c.ledger.create_indexes(
        [
            IndexModel([("memberId", ASCENDING), ("seq", DESCENDING)], name="member_seq"),
            IndexModel([("memberId", ASCENDING), ("orderId", ASCENDING)], name="member_order"),
            # programStats: the points issued, redeemed and expired in a period.
            IndexModel([("recordedAt", ASCENDING)], name="recorded"),
        ]
    )
    # The job runner finds members whose scheduled work is due; activity for programStats.
    await c.members.create_indexes(
        [
            IndexModel([("dueAt", ASCENDING)], name="due"),
            IndexModel([("lastActivityAt", ASCENDING)], name="last_activity"),
        ]
    )
    await c.issued_rewards.create_indexes(
        [
            IndexModel([("memberId", ASCENDING), ("issuedAt", DESCENDING)]),
            IndexModel([("code", ASCENDING)], unique=True),
        ]
    )
    await Notifications(c.notifications).ensure_indexes()
    await c.idempotency.create_indexes(
        [IndexModel([("createdAt", ASCENDING)], expireAfterSeconds=IDEMPOTENCY_RETENTION_SECONDS)]
    )
