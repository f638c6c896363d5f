"""memberUpdated's stream: order, gaps and slow consumers.

The changes are real commits through the API; their messages are captured from the Redis
channel and replayed, in the order each test needs, into a bus of the test's own (broadcaster's
in-memory backend, which is also what a single process without Redis uses).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from broadcaster._backends.memory import MemoryBackend
from prometheus_client import REGISTRY

from subscriptions.bus import EventBus
from subscriptions.channels import member_channel
from subscriptions.direct import Sleeping
from subscriptions.events import MemberEvent, decode
from subscriptions.member_stream import member_updates
from tests.support.client import GraphQLClient
from tests.support.operations import enroll, purchase
from tests.support.servers import InProcessServer


class Replay:
    """A member's committed messages as published, and a bus to replay them into."""

    def __init__(self, server: InProcessServer, queue_size: int = 64) -> None:
        self.server = server
        self.bus = EventBus(MemoryBackend("memory://"), queue_size)
        self.captured: dict[int, str] = {}

    async def buy(self, client: GraphQLClient, member_id: str, n: int) -> None:
        """n purchases, capturing each one's message by version."""
        async with self.server.services.bus.subscribe(member_channel(member_id)) as live:
            await asyncio.sleep(0.1)
            for _ in range(n):
                version = (await purchase(client, member_id, "1.00"))["member"]["version"]
                while version not in self.captured:
                    event = await asyncio.wait_for(live.get(), 5)
                    assert event is not None
                    self.captured[int(_version_of(event.message))] = event.message

    async def send(self, member_id: str, *versions: int) -> None:
        for version in versions:
            await self.bus.publish(member_channel(member_id), self.captured[version])
        await asyncio.sleep(0.1)


def _version_of(message: str) -> int:
    return decode(message).version


@contextlib.asynccontextmanager
async def collecting(
    replay: Replay, member_id: str, pause: asyncio.Event | None = None
) -> AsyncIterator[list[MemberEvent]]:
    """Run the stream in a task that appends what it yields (waiting while `pause` is clear)."""
    got: list[MemberEvent] = []
    stream = member_updates(replay.bus, replay.server.services.reads.member, member_id, None)

    async def consume() -> None:
        async for event in stream:
            got.append(event)
            if pause is not None:
                await pause.wait()

    await replay.bus.connect()
    task = asyncio.create_task(consume())
    await asyncio.sleep(0.1)  # subscribed and the first read done
    try:
        yield got
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await replay.bus.disconnect()


def _gap_resyncs() -> float:
    return REGISTRY.get_sample_value("bus_resyncs_total", {"cause": "gap"}) or 0.0


async def test_duplicates_and_older_versions_are_dropped(
    client: GraphQLClient, server: InProcessServer
) -> None:
    member = await enroll(client)
    replay = Replay(server)
    async with collecting(replay, member["id"]) as got:
        await replay.buy(client, member["id"], 2)
        await replay.send(member["id"], 2, 2, 3, 2, 3)
    assert [(e.version, e.coalesced) for e in got] == [(2, False), (3, False)]


async def test_a_gap_triggers_a_resync_from_the_database_instead_of_a_skip(
    client: GraphQLClient, server: InProcessServer
) -> None:
    member = await enroll(client)
    replay = Replay(server)
    gaps_before = _gap_resyncs()
    async with collecting(replay, member["id"]) as got:
        await replay.buy(client, member["id"], 3)
        await replay.send(member["id"], 3)  # version 2 never arrived
        await replay.send(member["id"], 2, 3, 4)  # late and duplicate: all at or below 4
    assert [(e.version, e.coalesced) for e in got] == [(4, True)]
    assert got[0].member.balance.available == 3  # the state read back, not the event's
    assert _gap_resyncs() == gaps_before + 1


async def test_a_slow_consumer_gets_the_latest_state_coalesced_not_a_growing_queue(
    client: GraphQLClient, server: InProcessServer
) -> None:
    member = await enroll(client)
    replay = Replay(server, queue_size=2)
    resume = asyncio.Event()
    async with collecting(replay, member["id"], pause=resume) as got:
        await replay.buy(client, member["id"], 6)
        await replay.send(member["id"], 2)
        await replay.send(member["id"], 3, 4, 5, 6, 7)  # the consumer is stuck after 2
        resume.set()
        await asyncio.sleep(0.3)
    versions = [(e.version, e.coalesced) for e in got]
    assert versions == [(2, False), (7, True)], versions
    assert set(got[1].changes) == {c for e in got for c in e.changes}


async def test_the_bus_keeps_delivering_when_waking_one_subscriber_fails() -> None:
    """Waking a sleeping subscriber runs in the bus's listener: its failure stays its own."""
    bus = EventBus(MemoryBackend("memory://"), 8)
    await bus.connect()
    try:
        async with bus.subscribe("a") as broken, bus.subscribe("b") as healthy:

            def fail() -> None:
                raise RuntimeError("cannot start the operation")

            broken.asleep = Sleeping("mbr_broken", broken)
            broken.asleep.wake = fail
            await bus.publish("a", "1")
            await bus.publish("b", "2")
            event = await asyncio.wait_for(healthy.get(), 5)
            assert event.message == "2"
            assert (await asyncio.wait_for(broken.get(), 5)).message == "1"  # queued anyway
            assert broken.asleep is None
    finally:
        await bus.disconnect()
