"""memberUpdated over real WebSockets: both protocols, order, catch-up, auth."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from resolvers.access import Role
from settings import Settings
from tests.support.client import GraphQLClient, legacy_ws, token, transport_ws
from tests.support.operations import MEMBER_UPDATED, enroll, purchase
from tests.support.servers import InProcessServer


async def test_a_purchase_reaches_the_subscriber_with_the_committed_state(
    client: GraphQLClient, server: InProcessServer, admin_token: str
) -> None:
    member = await enroll(client)
    async with transport_ws(server.ws_url, admin_token) as ws:
        await ws.subscribe(MEMBER_UPDATED, {"id": member["id"]})
        await asyncio.sleep(0.2)  # let the subscription reach the bus
        bought = await purchase(client, member["id"], "42.50")
        update = (await ws.next_data())["memberUpdated"]
    assert update == {
        "memberId": member["id"],
        "version": 2,
        "changes": ["POINTS_EARNED"],
        "coalesced": False,
        "member": {
            "version": 2,
            "balance": {"available": 42},
            "tier": {"current": {"id": "member"}},
        },
        "entry": {"kind": "EARN", "points": 42},
    }
    assert bought["member"]["version"] == update["version"]


async def test_a_tier_upgrade_is_one_update_listing_both_changes(
    client: GraphQLClient, server: InProcessServer, admin_token: str
) -> None:
    member = await enroll(client)
    async with transport_ws(server.ws_url, admin_token) as ws:
        await ws.subscribe(MEMBER_UPDATED, {"id": member["id"]})
        await asyncio.sleep(0.2)
        await purchase(client, member["id"], "600.00")
        update = (await ws.next_data())["memberUpdated"]
    assert update["changes"] == ["POINTS_EARNED", "TIER_CHANGED"]
    assert update["member"]["tier"]["current"]["id"] == "silver"


async def test_the_legacy_graphql_ws_protocol_works_too(
    client: GraphQLClient, server: InProcessServer, admin_token: str
) -> None:
    member = await enroll(client)
    async with legacy_ws(server.ws_url, admin_token) as ws:
        await ws.start(MEMBER_UPDATED, {"id": member["id"]})
        await asyncio.sleep(0.2)
        await purchase(client, member["id"], "5.00")
        update = (await ws.next_data())["memberUpdated"]
    assert (update["version"], update["changes"]) == (2, ["POINTS_EARNED"])


async def test_fifty_concurrent_purchases_arrive_as_versions_plus_one_without_gaps(
    client: GraphQLClient, server: InProcessServer, admin_token: str
) -> None:
    member = await enroll(client)
    async with transport_ws(server.ws_url, admin_token) as ws:
        await ws.subscribe(MEMBER_UPDATED, {"id": member["id"]})
        await asyncio.sleep(0.2)
        results = await asyncio.gather(*[purchase(client, member["id"], "1.00") for _ in range(50)])
        assert all(r["userErrors"] == [] for r in results)
        versions: list[int] = []
        while not versions or versions[-1] < 51:
            update = (await ws.next_data())["memberUpdated"]
            versions.append(update["version"])
            assert not update["coalesced"], "the subscriber kept up; nothing was coalesced"
    assert versions == list(range(2, 52))


async def test_resubscribing_with_since_version_misses_nothing(
    client: GraphQLClient, server: InProcessServer, admin_token: str
) -> None:
    member = await enroll(client)
    async with transport_ws(server.ws_url, admin_token) as ws:
        await ws.subscribe(MEMBER_UPDATED, {"id": member["id"]})
        await asyncio.sleep(0.2)
        await purchase(client, member["id"], "10.00")
        seen = (await ws.next_data())["memberUpdated"]["version"]
    assert seen == 2
    # While the client is away: two purchases, one of which lifts the tier.
    await purchase(client, member["id"], "3.00")
    await purchase(client, member["id"], "700.00")
    async with transport_ws(server.ws_url, admin_token) as ws:
        await ws.subscribe(MEMBER_UPDATED, {"id": member["id"], "since": seen})
        catch_up = (await ws.next_data())["memberUpdated"]
        assert catch_up["version"] == 4
        assert catch_up["coalesced"] is True
        assert catch_up["entry"] is None
        assert catch_up["changes"] == ["POINTS_EARNED", "TIER_CHANGED"]
        assert catch_up["member"]["balance"]["available"] == 713
        await purchase(client, member["id"], "1.00")
        following = (await ws.next_data())["memberUpdated"]
    assert (following["version"], following["coalesced"]) == (5, False)


async def test_since_version_at_the_current_version_sends_nothing_until_a_change(
    client: GraphQLClient, server: InProcessServer, admin_token: str
) -> None:
    member = await enroll(client)
    async with transport_ws(server.ws_url, admin_token) as ws:
        await ws.subscribe(MEMBER_UPDATED, {"id": member["id"], "since": 1})
        with pytest.raises(TimeoutError):
            await ws.receive(timeout=0.5)
        await purchase(client, member["id"], "2.00")
        assert (await ws.next_data())["memberUpdated"]["version"] == 2


async def test_an_unknown_member_ends_the_subscription_with_not_found(
    server: InProcessServer, admin_token: str
) -> None:
    async with transport_ws(server.ws_url, admin_token) as ws:
        op = await ws.subscribe(MEMBER_UPDATED, {"id": "mbr_000000000000000000000000"})
        message = await ws.receive()
        assert message["id"] == op
        assert message["type"] in ("error", "next")
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_member_token_may_only_watch_its_own_member(
    client: GraphQLClient, server: InProcessServer, settings: Settings
) -> None:
    mine = await enroll(client)
    other = await enroll(client)
    member_token = token(settings, Role.MEMBER, member_id=mine["id"])
    async with transport_ws(server.ws_url, member_token) as ws:
        op = await ws.subscribe(MEMBER_UPDATED, {"id": other["id"]})
        message = await ws.receive()
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "FORBIDDEN"
        if message["type"] == "next":
            assert await ws.receive() == {"id": op, "type": "complete"}
        await ws.subscribe(MEMBER_UPDATED, {"id": mine["id"]})
        await asyncio.sleep(0.2)
        await purchase(client, mine["id"], "1.00")
        assert (await ws.next_data())["memberUpdated"]["memberId"] == mine["id"]


@pytest.mark.parametrize("bearer", [None, "not-a-token", "expired"])
async def test_a_socket_without_a_valid_token_is_closed_with_4401(
    server: InProcessServer, settings: Settings, bearer: str | None
) -> None:
    if bearer == "expired":
        from datetime import UTC, datetime, timedelta

        from api.auth import issue

        bearer = issue(
            settings.auth_secret.get_secret_value(),
            settings.auth_issuer,
            subject="old",
            role=Role.ADMIN,
            now=datetime.now(UTC) - timedelta(days=2),
        )
    async with connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        payload = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_twenty_watchers_of_one_member_all_receive_the_change(
    client: GraphQLClient, server: InProcessServer, admin_token: str
) -> None:
    member = await enroll(client)

    async def watch(ready: asyncio.Event, started: list[int]) -> int:
        async with transport_ws(server.ws_url, admin_token) as ws:
            await ws.subscribe(MEMBER_UPDATED, {"id": member["id"]})
            started.append(1)
            if len(started) == 20:
                ready.set()
            version: int = (await ws.next_data())["memberUpdated"]["version"]
            return version

    ready = asyncio.Event()
    started: list[int] = []
    watchers = [asyncio.create_task(watch(ready, started)) for _ in range(20)]
    await asyncio.wait_for(ready.wait(), 10)
    await asyncio.sleep(0.3)
    await purchase(client, member["id"], "3.00", key=uuid.uuid4().hex)
    assert await asyncio.gather(*watchers) == [2] * 20
