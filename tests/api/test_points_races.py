"""The points mutations under retries and races, and a push over the legacy protocol."""

from __future__ import annotations

import asyncio
from typing import Any

from resolvers.access import Role
from settings import Settings
from tests.support.client import GraphQLClient, legacy_ws, token
from tests.support.operations import enroll
from tests.support.points import ADJUST, RETURN, REVERSE, WATCH, buy, codes, give_back, key, reverse
from tests.support.servers import InProcessServer


async def test_retries_replay_and_a_changed_request_conflicts(client: GraphQLClient) -> None:
    member = await enroll(client)
    bought = await buy(client, member["id"], "100.00", order="K-1")
    cases: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
        (
            ADJUST,
            "adjustPoints",
            {"memberId": member["id"], "points": 10, "reason": "goodwill"},
            {"points": 11},
        ),
        (
            RETURN,
            "recordReturn",
            {"memberId": member["id"], "orderId": "K-1", "returnedAmount": "10.00"},
            {"returnedAmount": "11.00"},
        ),
        (
            REVERSE,
            "reverseEntry",
            {"entryId": bought["entry"]["id"], "reason": "refund"},
            {"reason": "another reason"},
        ),
    ]
    for document, field, body, changed in cases:
        payload = {**body, "idempotencyKey": key()}
        first = (await client.data(document, {"input": payload}))[field]
        again = (await client.data(document, {"input": payload}))[field]
        assert first["userErrors"] == [], (field, first)
        assert again == first, field  # the first payload, and no second effect
        other = (await client.data(document, {"input": {**payload, **changed}}))[field]
        assert codes(other) == ["IDEMPOTENCY_CONFLICT"], field
    state = await client.data(
        "query($id: ID!) { member(id: $id) { version balance { available } } }",
        {"id": member["id"]},
    )
    # bought 100, +10 adjusted, -10 returned, the remaining 90 reversed: 10 left
    assert state["member"]["balance"]["available"] == 10
    assert state["member"]["version"] == 5


async def test_concurrent_reversals_of_one_entry_take_it_back_once(client: GraphQLClient) -> None:
    member = await enroll(client)
    bought = await buy(client, member["id"], "75.00")
    results = await asyncio.gather(*(reverse(client, bought["entry"]["id"]) for _ in range(6)))
    outcomes = sorted(codes(r)[0] if r["userErrors"] else "OK" for r in results)
    assert outcomes == ["ALREADY_REVERSED"] * 5 + ["OK"]
    state = await client.data(
        "query($id: ID!) { member(id: $id) { version balance { available lifetime } } }",
        {"id": member["id"]},
    )
    assert state["member"]["balance"] == {"available": 0, "lifetime": 0}
    assert state["member"]["version"] == 3


async def test_returns_and_reversals_respect_roles(
    client: GraphQLClient, settings: Settings
) -> None:
    member = await enroll(client)
    await buy(client, member["id"], "40.00", order="Q-1")
    own = client.as_(token(settings, Role.MEMBER, member_id=member["id"]))
    assert codes(await give_back(own, member["id"], "Q-1", "5.00")) == ["FORBIDDEN"]
    other_store = client.as_(token(settings, Role.POS, stores=["store-999"]))
    elsewhere = await give_back(other_store, member["id"], "Q-1", "5.00", storeId="store-001")
    assert codes(elsewhere) == ["FORBIDDEN"]  # a till acts at its own stores only
    till = client.as_(token(settings, Role.POS, stores=["store-001"]))
    done = await give_back(till, member["id"], "Q-1", "5.00")
    assert done["userErrors"] == [] and done["entry"]["points"] == -5
    assert done["entry"]["actor"] == "test-pos"


async def test_an_adjustment_reaches_a_legacy_protocol_subscriber(
    client: GraphQLClient, server: InProcessServer, admin_token: str
) -> None:
    member = await enroll(client)
    async with legacy_ws(server.ws_url, admin_token) as ws:
        await ws.start(WATCH, {"id": member["id"]})
        await asyncio.sleep(0.2)
        payload = {
            "memberId": member["id"],
            "points": 40,
            "reason": "birthday gift by hand",
            "idempotencyKey": key(),
        }
        await client.data(ADJUST, {"input": payload})
        update = (await ws.next_data())["memberUpdated"]
    assert update["changes"] == ["POINTS_ADJUSTED"]
    assert update["entry"] == {"kind": "ADJUSTMENT", "points": 40}
    assert update["member"]["balance"] == {"available": 40, "pending": 0, "lifetime": 0}
