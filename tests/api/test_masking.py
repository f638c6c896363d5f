"""An agent sees personal data masked wherever it appears (reads, lookups, duplicate
candidates, subscription pushes shared with unmasked viewers) until it reveals one member with
a reason, which is audited."""

from __future__ import annotations

import uuid
from typing import Any

from resolvers.access import Role
from settings import Settings
from tests.support.client import GraphQLClient, token, transport_ws
from tests.support.operations import purchase

PERSONAL = """
  id
  profile { firstName lastName email phone birthday }
  identifiers { kind value }
"""

ENROLL = f"""
mutation($i: EnrollMemberInput!) {{
  enrollMember(input: $i) {{ member {{ {PERSONAL} }} userErrors {{ code message field }} }} }}"""

REVEAL = f"""
mutation($i: RevealMemberInput!) {{
  revealMember(input: $i) {{ member {{ {PERSONAL} }} userErrors {{ code field }} }} }}"""


async def enrol_jo(client: GraphQLClient) -> tuple[dict[str, Any], str, str]:
    tag = uuid.uuid4().hex[:8]
    email = f"jo.{tag}@example.com"
    phone = f"+3161{int(tag, 16) % 10**7:07d}"
    result = await client.data(
        ENROLL,
        {
            "i": {
                "identifiers": [
                    {"kind": "EMAIL", "value": email},
                    {"kind": "PHONE", "value": phone},
                    {"kind": "LOYALTY_CARD", "value": f"{int(tag, 16):010d}0042"},
                ],
                "channel": "APP",
                "firstName": "Johanna",
                "lastName": "Jansen",
                "birthday": "1990-04-12",
            }
        },
    )
    assert result["enrollMember"]["userErrors"] == []
    return result["enrollMember"]["member"], email, phone


def assert_masked(member: dict[str, Any], email: str, phone: str) -> None:
    assert member["profile"] == {
        "firstName": "J***",
        "lastName": "J***",
        "email": "j***@example.com",
        "phone": f"+31******{phone[-2:]}",
        "birthday": "****-**-**",
    }
    values = {i["kind"]: i["value"] for i in member["identifiers"]}
    assert values == {
        "EMAIL": "j***@example.com",
        "PHONE": f"+31******{phone[-2:]}",
        "LOYALTY_CARD": "***0042",
    }
    assert email not in str(member) and phone not in str(member)


def assert_plain(member: dict[str, Any], email: str, phone: str) -> None:
    assert member["profile"]["email"] == email
    assert member["profile"]["phone"] == phone
    assert member["profile"]["firstName"] == "Johanna"
    assert member["profile"]["birthday"] == "1990-04-12"
    assert {i["value"] for i in member["identifiers"]} >= {email, phone}


async def test_an_agent_reads_personal_data_masked_everywhere(
    client: GraphQLClient, settings: Settings
) -> None:
    member, email, phone = await enrol_jo(client)
    twin, _, twin_phone = await enrol_jo(client)  # same name and birthday: a candidate
    agent = client.as_(token(settings, Role.AGENT))
    by_id = await agent.data(f"query($id: ID!) {{ member(id: $id) {{ {PERSONAL} }} }}", member)
    assert_masked(by_id["member"], email, phone)
    by_node = await agent.data(
        f"query($id: ID!) {{ node(id: $id) {{ ... on Member {{ {PERSONAL} }} }} }}", member
    )
    assert_masked(by_node["node"], email, phone)
    looked_up = await agent.data(
        f"query($v: String!) {{ memberByIdentifier(kind: EMAIL, value: $v) {{ {PERSONAL} }} }}",
        {"v": email},
    )
    assert_masked(looked_up["memberByIdentifier"], email, phone)
    candidates = await agent.data(
        f"query($id: ID!) {{ duplicateCandidates(memberId: $id) {{ member {{ {PERSONAL} }} }} }}",
        member,
    )
    found = [c["member"] for c in candidates["duplicateCandidates"]]
    assert [c["id"] for c in found] == [twin["id"]]
    assert found[0]["profile"]["email"] == "j***@example.com"
    assert twin_phone not in str(found)
    # Unmasked for the member itself and for an admin.
    own = client.as_(token(settings, Role.MEMBER, member_id=member["id"]))
    assert_plain((await own.data(f"{{ viewer {{ {PERSONAL} }} }}"))["viewer"], email, phone)
    admin = await client.data(f"query($id: ID!) {{ member(id: $id) {{ {PERSONAL} }} }}", member)
    assert_plain(admin["member"], email, phone)


async def test_a_push_is_masked_for_the_agent_and_not_for_the_admin_watching_with_it(
    client: GraphQLClient, settings: Settings, server: Any
) -> None:
    member, email, phone = await enrol_jo(client)
    query = (
        f"subscription($id: ID!) {{ memberUpdated(memberId: $id) {{ member {{ {PERSONAL} }} }} }}"
    )
    agent_token = token(settings, Role.AGENT)
    async with (
        transport_ws(server.ws_url, agent_token) as agent,
        transport_ws(server.ws_url, token(settings, Role.ADMIN)) as admin,
        transport_ws(server.ws_url, token(settings, Role.AGENT, subject="agent-2")) as agent2,
    ):
        for ws in (agent, admin, agent2):
            await ws.subscribe(query, {"id": member["id"]})
        await purchase(client, member["id"], "10.00")
        # The same event and selection, rendered once per visibility: masked for both agents.
        assert_masked((await agent.next_data())["memberUpdated"]["member"], email, phone)
        assert_plain((await admin.next_data())["memberUpdated"]["member"], email, phone)
        assert_masked((await agent2.next_data())["memberUpdated"]["member"], email, phone)


async def test_a_reveal_needs_a_reason_shows_one_member_once_and_is_audited(
    client: GraphQLClient, settings: Settings
) -> None:
    member, email, phone = await enrol_jo(client)
    agent = client.as_(token(settings, Role.AGENT, subject="agent-reveal"))
    for reason in ("", "   "):
        refused = await agent.data(REVEAL, {"i": {"memberId": member["id"], "reason": reason}})
        assert refused["revealMember"]["member"] is None
        assert refused["revealMember"]["userErrors"] == [
            {"code": "INVALID_INPUT", "field": ["input", "reason"]}
        ]
    missing = await agent.data(REVEAL, {"i": {"memberId": "mbr_nobody", "reason": "call"}})
    assert missing["revealMember"]["userErrors"][0]["code"] == "NOT_FOUND"
    reason = "caller verified by date of last purchase, ticket 4711"
    shown = await agent.data(REVEAL, {"i": {"memberId": member["id"], "reason": reason}})
    assert shown["revealMember"]["userErrors"] == []
    assert_plain(shown["revealMember"]["member"], email, phone)
    # The reveal is for that answer only: the next read is masked again.
    again = await agent.data(f"query($id: ID!) {{ member(id: $id) {{ {PERSONAL} }} }}", member)
    assert_masked(again["member"], email, phone)
    trail = await client.data(
        "query($id: ID!) { auditLog(memberId: $id) { edges { node "
        "{ action actor role outcome reason } } } }",
        {"id": member["id"]},
    )
    reveals = [
        e["node"] for e in trail["auditLog"]["edges"] if e["node"]["action"] == "revealMember"
    ]
    assert reveals == [
        {
            "action": "revealMember",
            "actor": "agent-reveal",
            "role": "AGENT",
            "outcome": "OK",
            "reason": reason,
        }
    ]
    # Only agents and admins reveal.
    till = client.as_(token(settings, Role.POS, stores=["store-001"]))
    body = await till.data(REVEAL, {"i": {"memberId": member["id"], "reason": reason}})
    assert body["revealMember"]["userErrors"] == [{"code": "FORBIDDEN", "field": None}]
