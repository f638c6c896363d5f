"""exportMember gives everything held about a member; eraseMember removes the person and keeps
the points; both audited."""

from __future__ import annotations

import json
import uuid
from typing import Any

from db.codec import member_from_doc
from loyalty.model import Profile
from resolvers.access import Role
from settings import Settings
from tests.support.client import GraphQLClient, token
from tests.support.operations import purchase
from tests.support.servers import InProcessServer

ENROLL = """
mutation($i: EnrollMemberInput!) {
  enrollMember(input: $i) { member { id } userErrors { code message } } }"""
EXPORT = """
mutation($i: ExportMemberInput!) { exportMember(input: $i) { data userErrors { code field } } }"""
ERASE = """
mutation($i: EraseMemberInput!) { eraseMember(input: $i) {
  member { id version profile { firstName lastName email phone birthday
    consents { email sms push personalization } } identifiers { kind value }
    balance { available lifetime } }
  userErrors { code field } } }"""


async def enrol(client: GraphQLClient, email: str, phone: str) -> str:
    result = await client.data(
        ENROLL,
        {
            "i": {
                "identifiers": [
                    {"kind": "EMAIL", "value": email},
                    {"kind": "PHONE", "value": phone},
                ],
                "channel": "APP",
                "firstName": "Erika",
                "lastName": "Example",
                "birthday": "1979-03-02",
                "consents": {"email": True, "sms": True},
            }
        },
    )
    assert result["enrollMember"]["userErrors"] == [], result
    member_id: str = result["enrollMember"]["member"]["id"]
    return member_id


def contacts() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:8]
    return f"erika.{tag}@example.com", f"+3162{int(tag, 16) % 10**7:07d}"


async def trail(client: GraphQLClient, member_id: str) -> list[dict[str, Any]]:
    data = await client.data(
        "query($id: ID!) { auditLog(memberId: $id) { edges { node "
        "{ action actor role outcome reason } } } }",
        {"id": member_id},
    )
    return [e["node"] for e in data["auditLog"]["edges"]]


async def test_a_member_exports_everything_held_about_it(
    client: GraphQLClient, settings: Settings
) -> None:
    email, phone = contacts()
    member_id = await enrol(client, email, phone)
    await purchase(client, member_id, "30.00")
    own = client.as_(token(settings, Role.MEMBER, member_id=member_id))
    answer = (await own.data(EXPORT, {"i": {"memberId": member_id, "reason": "my copy"}}))[
        "exportMember"
    ]
    assert answer["userErrors"] == []
    exported = json.loads(answer["data"])
    assert exported["member"]["id"] == member_id
    assert exported["member"]["profile"]["email"] == email
    assert exported["member"]["profile"]["firstName"] == "Erika"
    assert {i["value"] for i in exported["member"]["identifiers"]} == {email, phone}
    assert [e["points"] for e in exported["ledger"]] == [30]
    assert exported["issuedRewards"] == []
    assert {r["action"] for r in exported["audit"]} >= {"enrollMember", "recordPurchase"}
    # Another member's export is refused; an agent has no export at all.
    other = client.as_(token(settings, Role.MEMBER, member_id="mbr_someone_else"))
    refused = await other.data(EXPORT, {"i": {"memberId": member_id, "reason": "curious"}})
    assert refused["exportMember"]["userErrors"][0]["code"] == "FORBIDDEN"
    assert {"action": "exportMember", "actor": "test-member", "role": "MEMBER", "outcome": "OK",
            "reason": "my copy"} in await trail(client, member_id)  # fmt: skip


async def test_erasure_removes_the_person_keeps_the_points_and_frees_the_identifiers(
    client: GraphQLClient, server: InProcessServer, settings: Settings
) -> None:
    email, phone = contacts()
    member_id = await enrol(client, email, phone)
    await purchase(client, member_id, "40.00")
    blank = await client.data(ERASE, {"i": {"memberId": member_id, "reason": " "}})
    assert blank["eraseMember"]["userErrors"] == [
        {"code": "INVALID_INPUT", "field": ["input", "reason"]}
    ]
    erased = (
        await client.data(ERASE, {"i": {"memberId": member_id, "reason": "GDPR request 17"}})
    )["eraseMember"]
    assert erased["userErrors"] == []
    member = erased["member"]
    assert member["profile"] == {
        "firstName": None,
        "lastName": None,
        "email": None,
        "phone": None,
        "birthday": None,
        "consents": {"email": False, "sms": False, "push": False, "personalization": False},
    }
    assert member["identifiers"] == []
    assert member["balance"] == {"available": 40, "lifetime": 40}
    # Nobody is found by the old identifiers, and they can be enrolled again.
    found = await client.data(
        "query($v: String!) { memberByIdentifier(kind: EMAIL, value: $v) { id } }", {"v": email}
    )
    assert found["memberByIdentifier"] is None
    again = await enrol(client, email, phone)
    assert again != member_id
    # The ledger stays, under the id that no longer leads to a person.
    c = server.services.reads.collections
    assert await c.ledger.count_documents({"memberId": member_id}) == 1
    raw = await c.members.find_one({"_id": member_id})
    assert raw is not None and raw["identifiers"] == [] and raw["matchKeys"] == []
    assert member_from_doc(raw).profile == Profile()  # the sealed personal values are empty
    assert {"action": "eraseMember", "actor": "test-admin", "role": "ADMIN", "outcome": "OK",
            "reason": "GDPR request 17"} in await trail(client, member_id)  # fmt: skip
    # Only an admin erases.
    agent = client.as_(token(settings, Role.AGENT))
    refused = await agent.data(ERASE, {"i": {"memberId": again, "reason": "asked"}})
    assert refused["eraseMember"]["userErrors"][0]["code"] == "FORBIDDEN"


async def test_erasure_empties_the_accounts_merged_into_the_member_too(
    client: GraphQLClient, server: InProcessServer
) -> None:
    kept = await enrol(client, *contacts())
    gone_email, gone_phone = contacts()
    gone = await enrol(client, gone_email, gone_phone)
    merged = await client.data(
        """mutation($i: MergeMembersInput!) { mergeMembers(input: $i) { userErrors { code } } }""",
        {"i": {"survivorId": kept, "mergedId": gone, "reason": "one person"}},
    )
    assert merged["mergeMembers"]["userErrors"] == []
    c = server.services.reads.collections
    raw = await c.members.find_one({"_id": gone})
    assert raw is not None
    tombstone = member_from_doc(raw)
    # The merged account holds no personal data of its own; the snapshot for an unmerge does.
    assert tombstone.profile == Profile()
    assert tombstone.merge is not None and tombstone.merge.before.profile.email == gone_email
    erased = await client.data(ERASE, {"i": {"memberId": kept, "reason": "GDPR request 18"}})
    assert erased["eraseMember"]["userErrors"] == []
    raw = await c.members.find_one({"_id": gone})
    assert raw is not None
    after = member_from_doc(raw)
    assert after.merge is not None
    assert after.merge.before.profile == Profile() and after.merge.before.identifiers == ()
    assert after.version == tombstone.version + 1
