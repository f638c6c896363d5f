"""unmergeMember over real HTTP: a wrong merge is undone, both members whole again."""

from __future__ import annotations

import json
import uuid
from typing import Any

from resolvers.access import Role
from settings import Settings
from tests.api.test_merge import LEDGER, ledger_sums, merge, redeem
from tests.support.client import GraphQLClient, token
from tests.support.operations import enroll, purchase

UNMERGE = """
mutation Unmerge($input: UnmergeMemberInput!) {
  unmergeMember(input: $input) {
    member { id version balance { available pending } identifiers { value } rewards { id } }
    survivor {
      id version balance { available pending } identifiers { value } tier { current { id } }
    }
    userErrors { code message field }
  }
}"""

FIND = "query($k: IdentifierKind!, $v: String!) { memberByIdentifier(kind: $k, value: $v) { id } }"


async def unmerge(client: GraphQLClient, merged_id: str, key: str | None = None) -> dict[str, Any]:
    body = {"mergedId": merged_id, "reason": "two different people after all"}
    if key:
        body["idempotencyKey"] = key
    result: dict[str, Any] = (await client.data(UNMERGE, {"input": body}))["unmergeMember"]
    return result


async def test_a_wrong_merge_is_undone_with_what_was_earned_through_the_old_id(
    client: GraphQLClient,
) -> None:
    kept, gone = await enroll(client), await enroll(client)
    await purchase(client, kept["id"], "300.00")
    await purchase(client, gone["id"], "250.00")
    issued = await redeem(client, gone["id"])  # 150 of its 250: an issued reward moves too
    merged = await merge(client, kept["id"], gone["id"])
    assert merged["member"]["tier"]["current"]["id"] == "silver"  # 300 + 250 qualifying
    # A till still scanning the old card: recorded on the survivor, through the merged id.
    assert (await purchase(client, gone["id"], "20.00"))["member"]["id"] == kept["id"]

    done = await unmerge(client, gone["id"], key=uuid.uuid4().hex)
    assert done["userErrors"] == []
    restored, survivor = done["member"], done["survivor"]
    assert restored["id"] == gone["id"]
    assert restored["balance"] == {"available": 100 + 25, "pending": 0}  # 20 EUR at Silver
    assert [i["value"] for i in restored["identifiers"]] == [gone["profile"]["email"]]
    assert issued["issuedReward"]["id"] in {r["id"] for r in restored["rewards"]}
    assert survivor["balance"] == {"available": 300, "pending": 0}
    assert survivor["tier"]["current"]["id"] == "member"  # the upgrade came from the merge
    assert [i["value"] for i in survivor["identifiers"]] == [kept["profile"]["email"]]

    found = await client.data(FIND, {"k": "EMAIL", "v": gone["profile"]["email"]})
    assert found["memberByIdentifier"] == {"id": gone["id"]}
    for member_id, balance in ((kept["id"], 300), (gone["id"], 125)):
        state = (await client.data(LEDGER, {"id": member_id}))["member"]
        assert state["id"] == member_id
        assert ledger_sums(state) == (balance, 0)


async def test_unmerge_refusals_and_its_audit_record(
    client: GraphQLClient, settings: Settings
) -> None:
    kept, gone = await enroll(client), await enroll(client)
    live = await unmerge(client, gone["id"])
    assert live["userErrors"][0]["code"] == "INVALID_INPUT"
    unknown = await unmerge(client, "mbr_000000000000000000000000")
    assert unknown["userErrors"][0]["code"] == "NOT_FOUND"
    await merge(client, kept["id"], gone["id"])
    pos = client.as_(token(settings, Role.POS, stores=["store-001"]))
    assert (await unmerge(pos, gone["id"]))["userErrors"][0]["code"] == "FORBIDDEN"
    agent = client.as_(token(settings, Role.AGENT, subject="agent-42"))
    key = uuid.uuid4().hex
    first = await unmerge(agent, gone["id"], key)
    assert first["userErrors"] == []
    assert await unmerge(agent, gone["id"], key) == first
    again = await unmerge(agent, gone["id"])
    assert again["userErrors"][0]["code"] == "INVALID_INPUT"

    trail = await client.data(
        """query($m: ID) {
          auditLog(memberId: $m, first: 1) { edges { node { action actor reason details } } }
        }""",
        {"m": kept["id"]},
    )
    record = trail["auditLog"]["edges"][0]["node"]
    assert (record["action"], record["actor"]) == ("unmergeMember", "agent-42")
    assert record["reason"] == "two different people after all"
    assert json.loads(record["details"])["restoredId"] == gone["id"]
