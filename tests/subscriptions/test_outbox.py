"""The outbox relay against the embedded server: rows of dead writers published in order, then
deleted, however many there are."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from subscriptions.bus import EventBus, build_bus
from subscriptions.channels import member_channel
from subscriptions.outbox import Outbox, row_id


@pytest.fixture
async def bus() -> AsyncIterator[EventBus]:
    bus = build_bus("", 256)
    await bus.connect()
    try:
        yield bus
    finally:
        await bus.disconnect()


async def test_relay_publishes_and_deletes_a_backlog_larger_than_one_delete(
    mongo_uri: str, bus: EventBus
) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, retryWrites=False)
    db = client[f"outbox_{uuid.uuid4().hex[:8]}"]
    outbox = Outbox(db, bus, grace=1.0)
    try:
        old = datetime.now(UTC) - timedelta(seconds=30)
        members = ["a", "b", "c"]
        # 3 members x 15 versions: 45 rows, more than one chunk of the delete; inserted out
        # of order, as concurrent writers leave them
        rows = [
            {
                "_id": row_id(m, v),
                "memberId": m,
                "version": v,
                "channels": [member_channel(m)],
                "message": f"{m}:{v}",
                "createdAt": old,
            }
            for v in range(15, 0, -1)
            for m in members
        ]
        await db.outbox.insert_many(rows)
        fresh = {**rows[0], "_id": row_id("a", 99), "version": 99, "createdAt": datetime.now(UTC)}
        await db.outbox.insert_one(fresh)  # within the grace period: its writer may still publish
        async with bus.subscribe(member_channel("a")) as seat_a:
            assert await outbox.relay() == 45
            got = [(await seat_a.get()).message for _ in range(15)]
        assert got == [f"a:{v}" for v in range(1, 16)]
        left = await db.outbox.find({}, {"_id": 1}).to_list()
        assert left == [{"_id": row_id("a", 99)}]
    finally:
        await client.drop_database(db.name)
        await client.close()
