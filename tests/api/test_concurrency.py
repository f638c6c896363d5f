"""Races the till and the app really run: the last points, and a retried request."""

from __future__ import annotations

import asyncio
import uuid

from tests.support.client import GraphQLClient
from tests.support.operations import REDEEM, enroll, purchase

BALANCE_AND_ACTIVITY = """
query($id: ID!) {
  member(id: $id) {
    version balance { available lifetime }
    activity(first: 100) { edges { node { kind points } } }
  }
}"""


async def test_twenty_concurrent_redemptions_of_a_balance_for_three_let_exactly_three_through(
    client: GraphQLClient,
) -> None:
    member = await enroll(client)
    await purchase(client, member["id"], "500.00")  # 500 points: three coffees at 150

    async def redeem() -> list[str]:
        payload = {
            "memberId": member["id"],
            "rewardId": "rwd_free-coffee",
            "channel": "POS",
            "storeId": "store-001",
            "idempotencyKey": uuid.uuid4().hex,
        }
        result = (await client.data(REDEEM, {"input": payload}))["redeemReward"]
        return [e["code"] for e in result["userErrors"]]

    outcomes = await asyncio.gather(*[redeem() for _ in range(20)])
    assert sorted(map(tuple, outcomes)) == [()] * 3 + [("INSUFFICIENT_POINTS",)] * 17
    after = (await client.data(BALANCE_AND_ACTIVITY, {"id": member["id"]}))["member"]
    assert after["balance"] == {"available": 50, "lifetime": 500}
    assert after["version"] == 2 + 3
    points = [e["node"]["points"] for e in after["activity"]["edges"]]
    assert sum(points) == after["balance"]["available"]
    assert sorted(points) == [-150, -150, -150, 500]


async def test_ten_concurrent_retries_of_one_key_write_one_entry(client: GraphQLClient) -> None:
    member = await enroll(client)
    key = uuid.uuid4().hex
    results = await asyncio.gather(
        *[purchase(client, member["id"], "25.00", key=key, orderId="SAME") for _ in range(10)]
    )
    assert all(r["userErrors"] == [] for r in results)
    assert {r["entry"]["id"] for r in results} == {results[0]["entry"]["id"]}
    assert {r["member"]["version"] for r in results} == {2}
    after = (await client.data(BALANCE_AND_ACTIVITY, {"id": member["id"]}))["member"]
    assert after["version"] == 2
    assert after["balance"]["available"] == 25
    assert len(after["activity"]["edges"]) == 1


async def test_concurrent_enrolments_of_one_identifier_give_one_member(
    client: GraphQLClient,
) -> None:
    email = f"race-{uuid.uuid4().hex[:8]}@example.com"
    query = """
    mutation($input: EnrollMemberInput!) {
      enrollMember(input: $input) { member { id } userErrors { code } }
    }"""
    payload = {"identifiers": [{"kind": "EMAIL", "value": email}], "channel": "WEB"}
    results = await asyncio.gather(*[client.data(query, {"input": payload}) for _ in range(8)])
    winners = [r for r in results if r["enrollMember"]["member"] is not None]
    losers = [r["enrollMember"]["userErrors"][0]["code"] for r in results if r not in winners]
    assert len(winners) == 1
    assert losers == ["IDENTIFIER_TAKEN"] * 7
