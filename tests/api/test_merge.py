"""mergeMembers over real HTTP and WebSocket: everything moves once, the merged id leads to the
survivor, and concurrent writes on both sides lose nothing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from resolvers.access import Role
from settings import Settings
from tests.support.client import GraphQLClient, token, transport_ws
from tests.support.operations import MEMBER_UPDATED, REDEEM, enroll, purchase
from tests.support.servers import InProcessServer

MERGE = """
mutation Merge($input: MergeMembersInput!) {
  mergeMembers(input: $input) {
    member {
      id version mergedInto
      balance { available pending lifetime }
      tier { current { id } qualifyingPoints }
      identifiers { kind value }
      rewards { id code }
    }
    userErrors { code message field }
  }
}"""

LEDGER = """
query($id: ID!) {
  member(id: $id) {
    id version balance { available pending }
    activity(first: 100) { edges { node { kind points status } } }
  }
}"""

FIND = "query($k: IdentifierKind!, $v: String!) { memberByIdentifier(kind: $k, value: $v) { id } }"


async def merge(
    client: GraphQLClient, survivor: str, merged: str, key: str | None = None
) -> dict[str, Any]:
    body = {"survivorId": survivor, "mergedId": merged, "reason": "same person at the till"}
    if key:
        body["idempotencyKey"] = key
    result: dict[str, Any] = (await client.data(MERGE, {"input": body}))["mergeMembers"]
    return result


async def redeem(client: GraphQLClient, member_id: str, reward: str = "rwd_free-coffee") -> Any:
    body = {
        "memberId": member_id,
        "rewardId": reward,
        "channel": "POS",
        "storeId": "store-001",
        "idempotencyKey": uuid.uuid4().hex,
    }
    return (await client.data(REDEEM, {"input": body}))["redeemReward"]


def ledger_sums(member: dict[str, Any]) -> tuple[int, int]:
    nodes = [e["node"] for e in member["activity"]["edges"]]
    available = sum(n["points"] for n in nodes if n["status"] == "AVAILABLE")
    pending = sum(n["points"] for n in nodes if n["status"] == "PENDING")
    return available, pending


async def test_everything_moves_and_the_merged_id_leads_to_the_survivor(
    client: GraphQLClient,
) -> None:
    kept = await enroll(client)
    gone = await enroll(client)
    await purchase(client, kept["id"], "300.00")
    await purchase(client, gone["id"], "400.00")
    issued = await redeem(client, gone["id"])
    assert issued["userErrors"] == []

    done = await merge(client, kept["id"], gone["id"], key=uuid.uuid4().hex)
    assert done["userErrors"] == []
    survivor = done["member"]
    assert survivor["id"] == kept["id"] and survivor["mergedInto"] is None
    assert survivor["balance"] == {"available": 300 + 400 - 150, "pending": 0, "lifetime": 700}
    assert survivor["tier"] == {"current": {"id": "silver"}, "qualifyingPoints": 700}
    assert {i["value"] for i in survivor["identifiers"]} == {
        kept["profile"]["email"],
        gone["profile"]["email"],
    }
    assert issued["issuedReward"]["id"] in {r["id"] for r in survivor["rewards"]}

    for query, variables in [
        (LEDGER, {"id": gone["id"]}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": gone["id"]}),
        (FIND, {"k": "EMAIL", "v": gone["profile"]["email"]}),
    ]:
        data = await client.data(query, variables)
        assert next(iter(data.values()))["id"] == kept["id"], query

    # Each side's ledger still sums to its balance; the merged member's history stays with it.
    after = (await client.data(LEDGER, {"id": kept["id"]}))["member"]
    assert ledger_sums(after) == (550, 0)
    kinds = [e["node"]["kind"] for e in after["activity"]["edges"]]
    assert kinds.count("MERGE") == 1


async def test_merging_again_is_refused_and_a_retry_has_one_effect(
    client: GraphQLClient,
) -> None:
    kept, gone, other = await enroll(client), await enroll(client), await enroll(client)
    await purchase(client, gone["id"], "20.00")
    key = uuid.uuid4().hex
    first = await merge(client, kept["id"], gone["id"], key)
    retried = await merge(client, kept["id"], gone["id"], key)
    assert retried == first
    assert first["member"]["version"] == 2 and first["member"]["balance"]["available"] == 20

    again = await merge(client, kept["id"], gone["id"])
    assert again["userErrors"][0]["code"] == "ALREADY_MERGED"
    into_tombstone = await merge(client, gone["id"], other["id"])
    assert into_tombstone["userErrors"][0] == {
        "code": "ALREADY_MERGED",
        "message": into_tombstone["userErrors"][0]["message"],
        "field": ["input", "survivorId"],
    }
    itself = await merge(client, kept["id"], kept["id"])
    assert itself["userErrors"][0]["code"] == "INVALID_INPUT"
    unknown = await merge(client, kept["id"], "mbr_000000000000000000000000")
    assert unknown["userErrors"][0] == {
        "code": "NOT_FOUND",
        "message": "no such member",
        "field": ["input", "mergedId"],
    }
    assert (await client.data(LEDGER, {"id": kept["id"]}))["member"]["balance"]["available"] == 20


async def test_writes_addressed_to_the_merged_member_land_on_the_survivor(
    client: GraphQLClient,
) -> None:
    kept, gone = await enroll(client), await enroll(client)
    await merge(client, kept["id"], gone["id"])
    bought = await purchase(client, gone["id"], "12.00")
    assert bought["userErrors"] == []
    assert bought["member"]["id"] == kept["id"]
    assert bought["member"]["balance"]["available"] == 12


async def test_only_agents_and_admins_merge(client: GraphQLClient, settings: Settings) -> None:
    kept, gone = await enroll(client), await enroll(client)
    for role, extra in [
        (Role.MEMBER, {"member_id": kept["id"]}),
        (Role.POS, {"stores": ["store-001"]}),
        (Role.SERVICE, {}),
    ]:
        as_role = client.as_(token(settings, role, **extra))  # type: ignore[arg-type]
        refused = await merge(as_role, kept["id"], gone["id"])
        assert refused["userErrors"][0]["code"] == "FORBIDDEN", role
    agent = client.as_(token(settings, Role.AGENT))
    assert (await merge(agent, kept["id"], gone["id"]))["userErrors"] == []


async def test_subscribers_of_the_merged_member_follow_the_survivor(
    client: GraphQLClient, server: InProcessServer, admin_token: str
) -> None:
    kept, gone = await enroll(client), await enroll(client)
    async with transport_ws(server.ws_url, admin_token) as ws:
        await ws.subscribe(MEMBER_UPDATED, {"id": gone["id"]})
        await asyncio.sleep(0.2)  # let the subscription reach the bus
        await merge(client, kept["id"], gone["id"])
        moved = (await ws.next_data())["memberUpdated"]
        assert moved["memberId"] == kept["id"]
        assert moved["changes"] == ["MERGED"] and moved["version"] == 2
        await asyncio.sleep(0.2)
        await purchase(client, kept["id"], "5.00")
        later = (await ws.next_data())["memberUpdated"]
        assert (later["memberId"], later["version"], later["changes"]) == (
            kept["id"],
            3,
            ["POINTS_EARNED"],
        )
    # Subscribing to the merged id afterwards: the survivor at once, then its changes.
    async with transport_ws(server.ws_url, admin_token) as ws:
        await ws.subscribe(MEMBER_UPDATED, {"id": gone["id"]})
        first = (await ws.next_data())["memberUpdated"]
        assert (first["memberId"], first["version"], first["changes"]) == (
            kept["id"],
            3,
            ["MERGED"],
        )


async def test_a_merge_under_load_on_both_sides_loses_and_doubles_nothing(
    client: GraphQLClient,
) -> None:
    kept, gone = await enroll(client), await enroll(client)
    await purchase(client, kept["id"], "400.00")
    await purchase(client, gone["id"], "400.00")

    async def hammer(member_id: str) -> tuple[int, int]:
        """Purchases and redemptions on one id; returns (points earned, points redeemed)."""
        earned = redeemed = 0
        for i in range(8):
            bought = await purchase(client, member_id, "10.00")
            if not bought["userErrors"]:
                earned += bought["entry"]["points"]
            if i % 3 == 0:
                spent = await redeem(client, member_id)
                if not spent["userErrors"]:
                    redeemed += 150
        return earned, redeemed

    async def merge_midway() -> dict[str, Any]:
        await asyncio.sleep(0.05)
        return await merge(client, kept["id"], gone["id"])

    a, b, merged = await asyncio.gather(hammer(kept["id"]), hammer(gone["id"]), merge_midway())
    assert merged["userErrors"] == []
    final = (await client.data(LEDGER, {"id": kept["id"]}))["member"]
    expected = 800 + a[0] + b[0] - a[1] - b[1]
    assert final["balance"]["available"] == expected
    assert ledger_sums(final) == (expected, 0)
    tombstone_entries = await client.data(
        "query($id: ID!) { node(id: $id) { id } }", {"id": gone["id"]}
    )
    assert tombstone_entries["node"]["id"] == kept["id"]


RETURN = """
mutation Return($input: RecordReturnInput!) {
  recordReturn(input: $input) {
    member { id balance { available } }
    userErrors { code message field }
  }
}"""


async def test_an_order_bought_on_the_merged_account_can_be_returned_after(
    client: GraphQLClient,
) -> None:
    kept, gone = await enroll(client), await enroll(client)
    order = f"o-{uuid.uuid4().hex[:10]}"
    assert (await purchase(client, gone["id"], "80.00", orderId=order))["userErrors"] == []
    await merge(client, kept["id"], gone["id"])
    body = {
        "memberId": kept["id"],
        "orderId": order,
        "returnedAmount": "20.00",
        "storeId": "store-001",
        "idempotencyKey": uuid.uuid4().hex,
    }
    returned = (await client.data(RETURN, {"input": body}))["recordReturn"]
    assert returned["userErrors"] == []
    assert returned["member"] == {"id": kept["id"], "balance": {"available": 60}}
