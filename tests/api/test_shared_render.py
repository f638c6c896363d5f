"""Render once, send to many: sockets that share a selection share one execution and one
encoding of each event, over both protocols, each with its own subscription id."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from api.shared_render import _RENDERERS, SharedRenderExecutor, encode_message
from resolvers import subscriptions as subscription_resolvers
from resolvers.access import Role
from settings import Settings
from tests.support.client import GraphQLClient, legacy_ws, token, transport_ws
from tests.support.collector import alive, collector_off
from tests.support.operations import MEMBER_FIELDS, MEMBER_UPDATED, enroll, purchase
from tests.support.servers import InProcessServer

MEMBER_READ = f"query Read($id: ID!) {{ member(id: $id) {{ {MEMBER_FIELDS} }} }}"

OTHER_SELECTION = """
subscription Slim($id: ID!) { memberUpdated(memberId: $id) { version member { version } } }"""


async def _next_raw(ws: ClientConnection) -> dict[str, Any]:
    """The next message as sent, skipping keep-alives."""
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if message["type"] not in ("ka", "ping", "pong"):
            return message


def _renders_of_version(member_id: str, version: int) -> dict[Any, Any]:
    for event, update in subscription_resolvers._UPDATES.values():
        if event.member_id == member_id and event.version == version:
            renders: dict[Any, Any] = vars(update).get("_shared_renders", {})
            return renders
    raise AssertionError("the event was not shared")


async def test_sockets_sharing_a_selection_share_one_render_with_their_own_ids(
    client: GraphQLClient, server: InProcessServer, admin_token: str, settings: Settings
) -> None:
    member = await enroll(client)
    member_token = token(settings, Role.MEMBER, member_id=member["id"])
    async with (
        transport_ws(server.ws_url, admin_token) as a,
        transport_ws(server.ws_url, admin_token) as b,
        legacy_ws(server.ws_url, admin_token) as c,
        transport_ws(server.ws_url, admin_token) as slim,
        transport_ws(server.ws_url, member_token) as own,
    ):
        id_a = await a.subscribe(MEMBER_UPDATED, {"id": member["id"]})
        # sinceVersion is an argument of the root field only: it does not split the render
        id_b = await b.subscribe(MEMBER_UPDATED, {"id": member["id"], "since": 1})
        id_c = await c.start(MEMBER_UPDATED, {"id": member["id"]})
        await slim.subscribe(OTHER_SELECTION, {"id": member["id"]})
        await own.subscribe(MEMBER_UPDATED, {"id": member["id"]})
        await asyncio.sleep(0.3)
        await purchase(client, member["id"], "9.00")
        raw_a = await _next_raw(a.ws)
        raw_b = await _next_raw(b.ws)
        raw_c = await _next_raw(c.ws)
        slim_data = await slim.next_data()
        own_data = await own.next_data()
    assert (raw_a["id"], raw_a["type"]) == (id_a, "next")
    assert (raw_b["id"], raw_b["type"]) == (id_b, "next")
    assert (raw_c["id"], raw_c["type"]) == (id_c, "data")
    assert raw_a["payload"] == raw_b["payload"] == raw_c["payload"]
    assert raw_a["payload"]["data"]["memberUpdated"]["member"]["balance"]["available"] == 9
    assert slim_data == {"memberUpdated": {"version": 2, "member": {"version": 2}}}
    assert own_data == raw_a["payload"]["data"]
    # five sockets, three renders: the shared selection, the slim one, and the member's own
    # visibility (a MEMBER token is rendered apart from staff)
    assert len(_renders_of_version(member["id"], 2)) == 3


def test_the_shared_encoding_is_the_message_as_json() -> None:
    data = {"memberUpdated": {"version": 3, "changes": ["POINTS_EARNED"], "entry": None}}
    for message in (
        {"id": "op-1", "type": "next", "payload": {"data": data}},
        {"type": "data", "id": 'x"y', "payload": {"data": data}},
        {"id": "op-2", "type": "next", "payload": {"data": None, "errors": [{"message": "m"}]}},
        {"type": "connection_ack"},
    ):
        assert json.loads(encode_message(message)) == message
    first = encode_message({"id": "1", "type": "next", "payload": {"data": data}})
    second = encode_message({"id": "2", "type": "next", "payload": {"data": data}})
    assert first.replace('"1"', '"2"') == second


async def test_queries_over_the_socket_still_work_with_the_shared_executor(
    server: InProcessServer, admin_token: str
) -> None:
    async with connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(
            json.dumps(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {admin_token}"}}
            )
        )
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        for n in range(2):
            await ws.send(
                json.dumps(
                    {"id": f"q{n}", "type": "subscribe", "payload": {"query": "{ __typename }"}}
                )
            )
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert message == {
                "id": f"q{n}",
                "type": "next",
                "payload": {"data": {"__typename": "Query"}},
            }
            done = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert done == {"id": f"q{n}", "type": "complete"}


async def test_rendering_events_does_not_grow_the_subscription_executor(
    client: GraphQLClient, server: InProcessServer, admin_token: str
) -> None:
    """graphql-core shares an executor's memo of collected subfields with each event's copy;
    a subscriber's renderer lives all day and renders every event of the process."""
    member = await enroll(client)

    def memo_sizes() -> list[int]:
        return [len(r._executor._relevant_sub_fields) for r in list(_RENDERERS.values())]

    async with transport_ws(server.ws_url, admin_token) as screen:
        await screen.subscribe(MEMBER_UPDATED, {"id": member["id"]})
        await asyncio.sleep(0.3)
        for _ in range(2):
            await purchase(client, member["id"], "2.00")
            await screen.next_data()
        before = memo_sizes()
        for _ in range(5):
            await purchase(client, member["id"], "2.00")
            await screen.next_data()
        assert before and memo_sizes() == before


async def test_a_finished_request_leaves_nothing_for_the_cycle_collector(
    client: GraphQLClient, server: InProcessServer
) -> None:
    """graphql-core's executor holds helpers bound to itself: without breaking that cycle
    each request's executor, context, request and response waited for the collector, and a
    young collection under load freed tens of thousands of such objects at once."""
    member = await enroll(client)
    await purchase(client, member["id"], "2.00")  # first-use caches

    with collector_off():
        before = alive(SharedRenderExecutor)
        for _ in range(5):
            await purchase(client, member["id"], "2.00")
            await client.data(MEMBER_READ, {"id": member["id"]})
        assert alive(SharedRenderExecutor) == before
