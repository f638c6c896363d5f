"""The write path's edges: a retry is recognised inside the transaction (no look-up before it),
so a retry the current state would refuse still gets the first answer."""

from __future__ import annotations

import uuid

from tests.support.client import GraphQLClient
from tests.support.operations import ENROLL, REDEEM, enroll, purchase

MEMBER_STATE = """
query($id: ID!) {
  member(id: $id) {
    version balance { available }
    activity(first: 100) { edges { node { kind points } } }
  }
}"""


def _redemption(member_id: str, key: str) -> dict[str, object]:
    return {
        "memberId": member_id,
        "rewardId": "rwd_free-coffee",
        "channel": "POS",
        "storeId": "store-001",
        "idempotencyKey": key,
    }


async def test_a_retried_redemption_the_spent_balance_would_refuse_gets_the_first_answer(
    client: GraphQLClient,
) -> None:
    member = await enroll(client)
    await purchase(client, member["id"], "150.00")  # 150 points: exactly one coffee
    key = uuid.uuid4().hex
    first = (await client.data(REDEEM, {"input": _redemption(member["id"], key)}))["redeemReward"]
    assert first["userErrors"] == []
    again = (await client.data(REDEEM, {"input": _redemption(member["id"], key)}))["redeemReward"]
    assert again == first  # not INSUFFICIENT_POINTS: the balance it spent is its own
    fresh = (await client.data(REDEEM, {"input": _redemption(member["id"], uuid.uuid4().hex)}))[
        "redeemReward"
    ]
    assert [e["code"] for e in fresh["userErrors"]] == ["INSUFFICIENT_POINTS"]
    after = (await client.data(MEMBER_STATE, {"id": member["id"]}))["member"]
    assert after["version"] == 3
    assert after["balance"]["available"] == 0
    assert sorted(e["node"]["points"] for e in after["activity"]["edges"]) == [-150, 150]


async def test_a_reused_key_the_state_would_refuse_is_a_conflict_first(
    client: GraphQLClient,
) -> None:
    member = await enroll(client)
    await purchase(client, member["id"], "150.00")
    key = uuid.uuid4().hex
    payload = _redemption(member["id"], key)
    await client.data(REDEEM, {"input": payload})
    other = {**payload, "channel": "APP", "storeId": None}
    answer = (await client.data(REDEEM, {"input": other}))["redeemReward"]
    assert [e["code"] for e in answer["userErrors"]] == ["IDEMPOTENCY_CONFLICT"]


async def test_a_retried_enrolment_whose_identifier_is_now_claimed_gets_the_first_member(
    client: GraphQLClient,
) -> None:
    email = f"retry-{uuid.uuid4().hex[:8]}@example.com"
    payload = {
        "identifiers": [{"kind": "EMAIL", "value": email}],
        "channel": "WEB",
        "idempotencyKey": uuid.uuid4().hex,
    }
    first = (await client.data(ENROLL, {"input": payload}))["enrollMember"]
    again = (await client.data(ENROLL, {"input": payload}))["enrollMember"]
    assert first["userErrors"] == [] and again == first  # not IDENTIFIER_TAKEN
    unkeyed = {k: v for k, v in payload.items() if k != "idempotencyKey"}
    taken = (await client.data(ENROLL, {"input": unkeyed}))["enrollMember"]
    assert [e["code"] for e in taken["userErrors"]] == ["IDENTIFIER_TAKEN"]
