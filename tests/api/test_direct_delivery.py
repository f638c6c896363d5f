"""Direct delivery: live events written straight to up-to-date subscribers' sockets are the
very messages their own operations would have sent, in order, and only while they may be."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import pytest
from broadcaster import Event
from prometheus_client import REGISTRY
from starlette.websockets import WebSocket
from websockets.asyncio.client import ClientConnection

from api.graphql_view import GraphQLView
from api.outlets import SocketOutlet, TransportWSHandler
from subscriptions.bus import Subscription
from subscriptions.channels import member_channel
from subscriptions.events import RESYNC
from subscriptions.redis_backend import ResilientRedisBackend
from tests.support.client import GraphQLClient, legacy_ws, transport_ws
from tests.support.collector import alive, collector_off
from tests.support.operations import MEMBER_UPDATED, enroll, purchase
from tests.support.servers import InProcessServer

WITH_REWARDS = """
subscription Rewarded($id: ID!) {
  memberUpdated(memberId: $id) { version member { version rewards { id } } }
}"""


def _direct_writes() -> float:
    return REGISTRY.get_sample_value("subscription_direct_writes_total") or 0.0


async def _next_text(ws: ClientConnection, timeout: float = 10) -> str:
    """The next result message exactly as sent, skipping keep-alives."""
    while True:
        text = await asyncio.wait_for(ws.recv(), timeout)
        assert isinstance(text, str)
        if json.loads(text)["type"] not in ("ka", "ping", "pong"):
            return text


@contextmanager
def _direct(server: InProcessServer, on: bool) -> Iterator[None]:
    """Subscriptions opened inside use direct delivery or not (it is chosen when opening)."""
    view: GraphQLView = server.app.state.view
    before = view.direct_delivery
    view.direct_delivery = on
    try:
        yield
    finally:
        view.direct_delivery = before


async def test_direct_messages_are_byte_for_byte_what_the_operation_sends(
    client: GraphQLClient, server: InProcessServer, admin_token: str
) -> None:
    member = await enroll(client)
    variables = {"id": member["id"]}
    async with (
        transport_ws(server.ws_url, admin_token) as direct,
        transport_ws(server.ws_url, admin_token) as plain,
        legacy_ws(server.ws_url, admin_token) as legacy,
    ):
        with _direct(server, True):
            direct_id = await direct.subscribe(MEMBER_UPDATED, variables)
            legacy_id = await legacy.start(MEMBER_UPDATED, variables)
            await asyncio.sleep(0.3)  # the server reads the subscribe messages meanwhile
        with _direct(server, False):
            plain_id = await plain.subscribe(MEMBER_UPDATED, variables)
            await asyncio.sleep(0.3)
        before = _direct_writes()
        sent: list[tuple[str, str, str]] = []
        for amount in ("3.00", "4.00", "5.00"):
            await purchase(client, member["id"], amount)
            sent.append(
                (
                    await _next_text(direct.ws),
                    await _next_text(plain.ws),
                    await _next_text(legacy.ws),
                )
            )
        written = _direct_writes() - before
    for version, (via_direct, via_operation, via_legacy) in enumerate(sent, start=2):
        assert via_direct == via_operation.replace(plain_id, direct_id)
        message = json.loads(via_legacy)
        assert (message["type"], message["id"]) == ("data", legacy_id)
        assert message["payload"] == json.loads(via_operation)["payload"]
        assert message["payload"]["data"]["memberUpdated"]["version"] == version
    # the two direct subscriptions got all three events directly; the plain one none
    assert written == 6


async def test_a_completed_subscription_gets_nothing_more(
    client: GraphQLClient, server: InProcessServer, admin_token: str
) -> None:
    member = await enroll(client)
    async with transport_ws(server.ws_url, admin_token) as ws:
        first = await ws.subscribe(MEMBER_UPDATED, {"id": member["id"]})
        second = await ws.subscribe(MEMBER_UPDATED, {"id": member["id"]})
        await asyncio.sleep(0.3)
        await purchase(client, member["id"], "2.00")
        got = {json.loads(await _next_text(ws.ws))["id"] for _ in range(2)}
        assert got == {first, second}
        await ws.ws.send(json.dumps({"id": first, "type": "complete"}))
        await asyncio.sleep(0.2)
        await purchase(client, member["id"], "2.00")
        after: list[dict[str, Any]] = [json.loads(await _next_text(ws.ws))]
        # anything still addressed to the completed id would arrive by now
        await asyncio.sleep(0.3)
        while True:
            try:
                after.append(json.loads(await _next_text(ws.ws, timeout=0.2)))
            except TimeoutError:
                break
    assert [(m["id"], m["payload"]["data"]["memberUpdated"]["version"]) for m in after] == [
        (second, 3)
    ]


async def test_a_selection_that_reads_the_database_goes_through_its_operation(
    client: GraphQLClient, server: InProcessServer, admin_token: str
) -> None:
    member = await enroll(client)
    async with transport_ws(server.ws_url, admin_token) as ws:
        await ws.subscribe(WITH_REWARDS, {"id": member["id"]})
        await asyncio.sleep(0.3)
        before = _direct_writes()
        versions = []
        for _ in range(3):
            await purchase(client, member["id"], "1.00")
            versions.append((await ws.next_data())["memberUpdated"]["version"])
        written = _direct_writes() - before
    assert versions == [2, 3, 4]
    assert written == 0  # its rendering awaits a loader: the operation renders and sends it


async def test_a_reader_that_stops_reading_holds_one_message_and_then_catches_up(
    client: GraphQLClient, server: InProcessServer, admin_token: str
) -> None:
    """A socket whose transport buffer is full is not written to again: its stream waits for
    the held message and then coalesces, and the subscriber ends at the latest version."""
    member = await enroll(client)
    async with transport_ws(server.ws_url, admin_token) as ws:
        await ws.subscribe(MEMBER_UPDATED, {"id": member["id"]})
        await asyncio.sleep(0.3)
        # stop reading: pause the client's transport so the server's send buffer fills
        transport = ws.ws.transport
        transport.pause_reading()
        last = 1
        for _ in range(120):
            last = (await purchase(client, member["id"], "1.00"))["member"]["version"]
        transport.resume_reading()
        versions: list[int] = []
        while not versions or versions[-1] < last:
            update = (await ws.next_data(timeout=20))["memberUpdated"]
            versions.append(update["version"])
    assert versions == sorted(set(versions)), "never back, never twice"
    assert versions[-1] == last


class _Transport:
    """The ASGI server side of one socket whose writes can be held, as a full buffer does."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.room = asyncio.Event()
        self.room.set()

    async def receive(self) -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        await self.room.wait()
        if message["type"] == "websocket.send":
            self.sent.append(message["text"])


async def _outlet(transport: _Transport) -> SocketOutlet:
    scope = {"type": "websocket", "path": "/graphql", "headers": [], "query_string": b""}
    websocket = WebSocket(scope, transport.receive, transport.send)
    await websocket.accept()
    return SocketOutlet(websocket, {"id": "op", "type": "next"})


async def test_an_outlet_holds_one_write_while_the_transport_is_full() -> None:
    transport = _Transport()
    outlet = await _outlet(transport)
    assert outlet.write('{"n":1}')
    assert transport.sent == ['{"id":"op","type":"next","payload":{"data":{"n":1}}}']
    transport.room.clear()
    assert outlet.write('{"n":2}'), "taken: it goes out when the transport drains"
    assert not outlet.write('{"n":3}'), "refused while one is held: the stream takes over"
    settled = asyncio.create_task(outlet.settle())
    await asyncio.sleep(0.05)
    assert not settled.done()
    transport.room.set()
    await asyncio.wait_for(settled, 5)
    assert [json.loads(t)["payload"]["data"]["n"] for t in transport.sent] == [1, 2]
    assert outlet.write('{"n":4}')
    assert len(transport.sent) == 3


async def test_a_closed_outlet_writes_nothing() -> None:
    transport = _Transport()
    outlet = await _outlet(transport)
    outlet.closed = True
    assert not outlet.write('{"n":1}')
    assert transport.sent == []


def _resyncs() -> float:
    return REGISTRY.get_sample_value("bus_resyncs_total", {"cause": "bus"}) or 0.0


def _asleep(seat: Subscription) -> bool:
    """Asleep, its operation ended: the handler has set how to wake it."""
    return seat.asleep is not None and seat.asleep.wake is not None


def _running_operations() -> int:
    return sum(
        1
        for task in asyncio.all_tasks()
        if "run_operation" in repr(task.get_coro()) and not task.done()
    )


async def _until(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_an_idle_subscription_sleeps_without_its_operation_and_wakes_when_needed(
    client: GraphQLClient, server: InProcessServer, admin_token: str
) -> None:
    member = await enroll(client)
    channel = member_channel(member["id"])
    bus = server.services.bus
    before = _running_operations()
    async with transport_ws(server.ws_url, admin_token) as ws:
        sid = await ws.subscribe(MEMBER_UPDATED, {"id": member["id"]})
        await _until(lambda: channel in bus._open)
        (seat,) = bus._open[channel]
        await _until(lambda: _asleep(seat))  # only its seat and outlet left
        assert _running_operations() == before

        # The next version goes straight to the socket; the subscription stays asleep.
        version = (await purchase(client, member["id"], "4.00"))["member"]["version"]
        pushed = await ws.receive()
        assert (
            pushed["id"] == sid and pushed["payload"]["data"]["memberUpdated"]["version"] == version
        )
        assert _asleep(seat) and _running_operations() == before

        # A resync (what a Redis reconnect sends every seat) with nothing missed: the member
        # is read again, but the subscription stays asleep and nothing is sent.
        backend = bus.backend
        assert isinstance(backend, ResilientRedisBackend)
        resyncs, asleep = _resyncs(), seat.asleep
        backend._offer(Event(channel, RESYNC))
        await _until(lambda: _resyncs() == resyncs + 1)
        await asyncio.sleep(0.1)
        assert seat.asleep is asleep  # never woken (a wake and a new sleep would replace it)
        with pytest.raises(TimeoutError):
            await ws.receive(timeout=0.3)

        # Something only its stream can handle (a resync after a version it missed) wakes it:
        # the operation starts again from the seat, sends the catch-up, and sleeps again.
        seat.last -= 1
        backend._offer(Event(channel, RESYNC))
        caught_up = (await ws.receive())["payload"]["data"]["memberUpdated"]
        assert caught_up["version"] == version and caught_up["coalesced"] is True
        await _until(lambda: _asleep(seat))
        assert _running_operations() == before
        version = (await purchase(client, member["id"], "4.00"))["member"]["version"]
        pushed = await ws.receive()
        assert pushed["payload"]["data"]["memberUpdated"]["version"] == version

        # Completed while asleep: its seat is given up, and with the last one the channel.
        await ws.ws.send(json.dumps({"id": sid, "type": "complete"}))
        await _until(lambda: channel not in bus._open)


async def test_a_closed_socket_with_a_sleeping_subscription_is_freed_without_the_collector(
    client: GraphQLClient, server: InProcessServer, admin_token: str
) -> None:
    """A socket's objects left in a reference cycle wait for a full collection, which with
    thousands of sockets open stops the process for a second: closing must free them at once."""
    member = await enroll(client)
    channel = member_channel(member["id"])
    bus = server.services.bus

    with collector_off():
        before = alive(TransportWSHandler)
        async with transport_ws(server.ws_url, admin_token) as ws:
            await ws.subscribe(MEMBER_UPDATED, {"id": member["id"]})
            await _until(lambda: channel in bus._open)
            (seat,) = bus._open[channel]
            await _until(lambda: _asleep(seat))
            assert alive(TransportWSHandler) == before + 1
        await _until(lambda: channel not in bus._open)
        await _until(lambda: alive(TransportWSHandler) == before)


def _finds() -> float:
    return REGISTRY.get_sample_value("db_command_duration_seconds_count", {"command": "find"}) or 0


async def test_a_resync_of_every_seat_reads_the_members_in_batches_not_once_per_socket(
    client: GraphQLClient, server: InProcessServer, admin_token: str
) -> None:
    members = [(await enroll(client))["id"] for _ in range(3)]
    channels = [member_channel(m) for m in members]
    bus = server.services.bus
    async with transport_ws(server.ws_url, admin_token) as ws:
        for member in members:
            for _ in range(10):
                await ws.subscribe(MEMBER_UPDATED, {"id": member})
        await _until(lambda: all(len(bus._open.get(c, ())) == 10 for c in channels))
        seats = [seat for c in channels for seat in bus._open[c]]
        await _until(lambda: all(_asleep(seat) for seat in seats))
        # What a Redis reconnect sends: a resync on every channel at once. Each of the 30
        # sleeping seats checks its member; the reads go in batches of 20 (2 finds; one more
        # at most if the outbox relay scans meanwhile), not one find per seat (30).
        backend = bus.backend
        assert isinstance(backend, ResilientRedisBackend)
        resyncs, finds = _resyncs(), _finds()
        for channel in channels:
            backend._offer(Event(channel, RESYNC))
        await _until(lambda: _resyncs() == resyncs + 30)
        assert _finds() - finds <= 3
        assert all(_asleep(seat) for seat in seats)  # nothing missed: none woke
