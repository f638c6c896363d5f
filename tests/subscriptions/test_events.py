"""The bus's event messages: binary (BSON) as this release writes them, and the extended JSON of
earlier releases, which it still reads (a rolling deploy runs both side by side)."""

from __future__ import annotations

import asyncio
import time

from db.commit import Committed
from subscriptions.channels import member_channel
from subscriptions.events import (
    MARK,
    MemberEvent,
    decode,
    encode,
    from_wire,
    stamped,
    version_of,
)
from tests.support.client import GraphQLClient
from tests.support.operations import enroll, purchase
from tests.support.servers import InProcessServer


async def _published(server: InProcessServer, client: GraphQLClient) -> tuple[object, str]:
    """The message a real purchase published, and the member's id."""
    member = await enroll(client)
    async with server.services.bus.subscribe(member_channel(member["id"])) as live:
        await asyncio.sleep(0.1)
        await purchase(client, member["id"], "12.00")
        event = await asyncio.wait_for(live.get(), 5)
    return event.message, member["id"]


def _as_committed(event: MemberEvent) -> Committed:
    entries = (event.entry,) if event.entry is not None else ()
    return Committed(event.member, event.changes, entries, None, event.store_id)


def _without_time(event: MemberEvent) -> tuple[object, ...]:
    return (
        event.member_id,
        event.version,
        event.changes,
        event.member,
        event.entry,
        event.store_id,
    )


async def test_a_purchase_publishes_a_binary_message_of_the_committed_state(
    server: InProcessServer, client: GraphQLClient
) -> None:
    message, member_id = await _published(server, client)
    assert isinstance(message, bytes) and message.startswith(MARK)
    event = decode(message)
    stored = await server.services.reads.member(member_id)
    assert event.member == stored  # times to the millisecond, as stored, and tz-aware
    assert event.entry is not None and event.entry.points == 12 and event.store_id == "store-001"
    assert event.published_at is not None and abs(event.published_at - time.time()) < 5


async def test_the_earlier_json_format_of_the_same_change_reads_the_same(
    server: InProcessServer, client: GraphQLClient
) -> None:
    message, _ = await _published(server, client)
    assert isinstance(message, bytes)
    binary = decode(message)
    text = encode(_as_committed(binary), "json")
    assert isinstance(text, str) and text.startswith("{")
    from_json = decode(text)
    assert _without_time(from_json) == _without_time(binary)
    assert from_json.published_at is not None
    assert version_of(message) == version_of(text) == binary.version
    assert _without_time(decode(encode(_as_committed(from_json)))) == _without_time(binary)


async def test_the_publish_stamps_a_binary_message_and_leaves_text_alone(
    server: InProcessServer, client: GraphQLClient
) -> None:
    message, _ = await _published(server, client)
    assert isinstance(message, bytes)
    unstamped = encode(_as_committed(decode(message)))
    assert decode(unstamped).published_at is None  # as the outbox row holds it
    before = time.time()
    stamp = decode(stamped(unstamped)).published_at
    assert stamp is not None and before <= stamp <= time.time()
    assert stamped("hello") == "hello"


def test_redis_bytes_stay_bytes_only_for_binary_events() -> None:
    binary = MARK + b"\x00\xff rest"
    assert from_wire(binary) is binary
    assert from_wire(b'{"memberId": "m"}') == '{"memberId": "m"}'
    assert from_wire("text") == "text"
