"""auditLog: identity changes and back-office writes are on the trail, with who, why and what."""

from __future__ import annotations

import json
import uuid
from typing import Any

from resolvers.access import Role
from settings import Settings
from tests.api.test_identifiers import link
from tests.api.test_merge import merge
from tests.support.client import GraphQLClient, token
from tests.support.operations import enroll, purchase

AUDIT = """
query($member: ID, $first: Int, $after: String) {
  auditLog(memberId: $member, first: $first, after: $after) {
    edges { cursor node { id at action actor role memberId outcome reason details requestId } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def trail(client: GraphQLClient, member_id: str, **extra: Any) -> list[dict[str, Any]]:
    data = await client.data(AUDIT, {"member": member_id, **extra})
    return [e["node"] for e in data["auditLog"]["edges"]]


async def test_a_merge_is_recorded_with_who_why_and_what_moved(
    client: GraphQLClient, settings: Settings
) -> None:
    kept, gone = await enroll(client), await enroll(client)
    await purchase(client, gone["id"], "42.00")
    agent = client.as_(token(settings, Role.AGENT, subject="agent-007"))
    assert (await merge(agent, kept["id"], gone["id"]))["userErrors"] == []
    record, *older = await trail(client, kept["id"])
    assert record["action"] == "mergeMembers"
    assert [r["action"] for r in older] == ["enrollMember"]  # by the ADMIN test token
    assert (record["actor"], record["role"], record["outcome"]) == ("agent-007", "AGENT", "OK")
    assert record["reason"] == "same person at the till"
    assert record["requestId"]
    details = json.loads(record["details"])
    assert details["mergedId"] == gone["id"]
    assert details["availableMoved"] == 42 and details["identifiersMoved"] == "EMAIL"
    assert gone["profile"]["email"] not in record["details"]  # kinds and counts, no values


async def test_links_by_members_are_recorded_and_their_purchases_are_not(
    client: GraphQLClient, settings: Settings
) -> None:
    till = client.as_(token(settings, Role.POS, stores=["store-001"], subject="till-9"))
    member = await enroll(till, storeId="store-001")
    own = client.as_(token(settings, Role.MEMBER, member_id=member["id"], subject="app-user"))
    assert (await link(own, member["id"], "DEVICE_TOKEN", f"dev-{uuid.uuid4().hex}"))[
        "userErrors"
    ] == []
    assert (await purchase(till, member["id"], "3.00"))["userErrors"] == []
    records = await trail(client, member["id"])
    assert [(r["action"], r["actor"]) for r in records] == [("linkIdentifier", "app-user")]
    assert json.loads(records[0]["details"])["kind"] == "DEVICE_TOKEN"


async def test_back_office_writes_are_recorded_newest_first_and_paged(
    client: GraphQLClient,
) -> None:
    member = await enroll(client)  # by the ADMIN test token: recorded too
    for amount in ("1.00", "2.00", "3.00"):
        await purchase(client, member["id"], amount)
    records = await trail(client, member["id"])
    assert [r["action"] for r in records] == [
        "recordPurchase",
        "recordPurchase",
        "recordPurchase",
        "enrollMember",
    ]
    assert [json.loads(r["details"])["points"] for r in records[:3]] == [3, 2, 1]
    page = await client.data(AUDIT, {"member": member["id"], "first": 3})
    assert page["auditLog"]["pageInfo"]["hasNextPage"] is True
    rest = await trail(client, member["id"], after=page["auditLog"]["pageInfo"]["endCursor"])
    assert [r["action"] for r in rest] == ["enrollMember"]


async def test_only_admins_read_the_trail(client: GraphQLClient, settings: Settings) -> None:
    member = await enroll(client)
    for role, extra in [
        (Role.AGENT, {}),
        (Role.MEMBER, {"member_id": member["id"]}),
        (Role.SERVICE, {}),
    ]:
        body = await client.as_(token(settings, role, **extra)).execute(  # type: ignore[arg-type]
            AUDIT, {"member": member["id"]}
        )
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", role
    bad = await client.execute(AUDIT, {"member": member["id"], "after": "not-a-cursor"})
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
