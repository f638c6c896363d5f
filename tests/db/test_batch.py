"""WriteBatch: the writes of one transaction in one bulkWrite command, or one command each on a
server without it; both ways must write and refuse the same."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient

from db.batch import WriteBatch, supports_one_command
from db.client import Doc, connect
from settings import Settings


class _Moved(Exception):
    pass


class _Used(Exception):
    pass


@pytest.fixture
async def client(mongo_uri: str) -> AsyncIterator[AsyncMongoClient[Doc]]:
    mongo = connect(mongo_uri, retry_writes=False)
    try:
        yield mongo
    finally:
        await mongo.close()


@pytest.fixture(params=[True, False], ids=["one-command", "command-each"])
def one_command(request: pytest.FixtureRequest) -> bool:
    value: bool = request.param
    return value


async def test_the_embedded_server_takes_bulk_write(client: AsyncMongoClient[Doc]) -> None:
    assert await supports_one_command(client)


async def test_every_kind_of_write_lands_in_its_collection(
    client: AsyncMongoClient[Doc], settings: Settings, one_command: bool
) -> None:
    db = client[settings.mongodb_database]
    a, b = db[f"batch_a_{uuid.uuid4().hex[:6]}"], db[f"batch_b_{uuid.uuid4().hex[:6]}"]
    await a.insert_many([{"_id": 1, "v": 1}, {"_id": 2, "v": 1}, {"_id": 3, "v": 1}])
    await b.insert_many([{"_id": "x", "k": "old"}, {"_id": "y", "k": "old"}])
    batch = WriteBatch(client, one_command=one_command)
    batch.replace(a, {"_id": 1, "v": 1}, {"v": 2}, must_match=_Moved())
    batch.insert(b, {"_id": "z", "k": "new"}, on_duplicate=_Used())
    batch.update_one(a, {"_id": 2}, {"$set": {"marked": True}})
    batch.update_many(b, {"k": "old"}, {"$set": {"k": "older"}})
    batch.delete_many(a, {"_id": {"$in": [3]}})
    async with client.start_session() as session:
        await session.with_transaction(batch.send)
    assert [d async for d in a.find().sort("_id")] == [
        {"_id": 1, "v": 2},
        {"_id": 2, "v": 1, "marked": True},
    ]
    assert {d["_id"]: d["k"] async for d in b.find()} == {"x": "older", "y": "older", "z": "new"}


async def test_a_replace_that_matches_nothing_refuses_the_whole_transaction(
    client: AsyncMongoClient[Doc], settings: Settings, one_command: bool
) -> None:
    db = client[settings.mongodb_database]
    a = db[f"batch_a_{uuid.uuid4().hex[:6]}"]
    await a.insert_one({"_id": 1, "v": 5})
    batch = WriteBatch(client, one_command=one_command)
    batch.insert(a, {"_id": 2, "v": 1})
    batch.replace(a, {"_id": 1, "v": 4}, {"v": 6}, must_match=_Moved())  # v moved on to 5
    with pytest.raises(_Moved):
        async with client.start_session() as session:
            await session.with_transaction(batch.send)
    assert [d async for d in a.find()] == [{"_id": 1, "v": 5}]  # the insert went too


async def test_an_insert_of_an_existing_id_raises_what_the_caller_asked(
    client: AsyncMongoClient[Doc], settings: Settings, one_command: bool
) -> None:
    db = client[settings.mongodb_database]
    a, b = db[f"batch_a_{uuid.uuid4().hex[:6]}"], db[f"batch_b_{uuid.uuid4().hex[:6]}"]
    await b.insert_one({"_id": "key"})
    batch = WriteBatch(client, one_command=one_command)
    batch.insert(a, {"_id": 1})
    batch.insert(b, {"_id": "key", "again": True}, on_duplicate=_Used())
    with pytest.raises(_Used):
        async with client.start_session() as session:
            await session.with_transaction(batch.send)
    assert await a.count_documents({}) == 0
    assert [d async for d in b.find()] == [{"_id": "key"}]


async def test_a_document_that_moved_explains_a_failure_after_it(
    client: AsyncMongoClient[Doc], settings: Settings, one_command: bool
) -> None:
    """The writer's case: a concurrent change committed the member and its notification; this
    change's replace matches nothing and its notification collides: it must run again."""
    db = client[settings.mongodb_database]
    a, b = db[f"batch_a_{uuid.uuid4().hex[:6]}"], db[f"batch_b_{uuid.uuid4().hex[:6]}"]
    await a.insert_one({"_id": 1, "v": 2})
    await b.insert_one({"_id": "1:notice"})
    batch = WriteBatch(client, one_command=one_command)
    batch.replace(a, {"_id": 1, "v": 1}, {"v": 2}, must_match=_Moved())
    batch.insert(b, {"_id": "1:notice"})  # no on_duplicate: a collision of its own is a fault
    with pytest.raises(_Moved):
        async with client.start_session() as session:
            await session.with_transaction(batch.send)
    assert [d async for d in b.find()] == [{"_id": "1:notice"}]
