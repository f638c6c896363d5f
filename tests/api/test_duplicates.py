"""duplicateCandidates over real HTTP: what an agent sees before deciding on a merge."""

from __future__ import annotations

import uuid

from resolvers.access import Role
from settings import Settings
from tests.support.client import GraphQLClient, token
from tests.support.operations import enroll

CANDIDATES = """
query($id: ID!, $first: Int) {
  duplicateCandidates(memberId: $id, first: $first) { member { id } reasons }
}"""


def email(local: str, domain: str = "gmail.com") -> dict[str, str]:
    return {"kind": "EMAIL", "value": f"{local}@{domain}"}


async def test_variants_of_one_mailbox_and_name_with_birthday_are_found(
    client: GraphQLClient,
) -> None:
    tag = uuid.uuid4().hex[:10]
    person = {"firstName": "Ann", "lastName": f"Smith {tag}", "birthday": "1990-01-02"}
    first = await enroll(client, identifiers=[email(f"ann.{tag}")], **person)
    dotted = await enroll(client, identifiers=[email(f"ann{tag}+web", "googlemail.com")])
    same_person = await enroll(client, identifiers=[email(f"other{tag}", "example.com")], **person)
    both = await enroll(client, identifiers=[email(f"a.n.n{tag}")], **person)
    stranger = await enroll(client, identifiers=[email(f"bob{tag}")])

    found = (await client.data(CANDIDATES, {"id": first["id"]}))["duplicateCandidates"]
    # One reason each ranks by member id.
    assert [(c["member"]["id"], c["reasons"]) for c in found] == [
        (both["id"], ["SAME_EMAIL", "SAME_NAME_AND_BIRTHDAY"]),
        *sorted(
            [
                (dotted["id"], ["SAME_EMAIL"]),
                (same_person["id"], ["SAME_NAME_AND_BIRTHDAY"]),
            ]
        ),
    ]
    assert stranger["id"] not in {c["member"]["id"] for c in found}
    alone = (await client.data(CANDIDATES, {"id": stranger["id"]}))["duplicateCandidates"]
    assert alone == []
    limited = await client.data(CANDIDATES, {"id": first["id"], "first": 1})
    assert [c["member"]["id"] for c in limited["duplicateCandidates"]] == [both["id"]]


async def test_unknown_members_have_none_and_first_is_bounded(client: GraphQLClient) -> None:
    assert (await client.data(CANDIDATES, {"id": "mbr_nobody"}))["duplicateCandidates"] == []
    member = await enroll(client)
    body = await client.execute(CANDIDATES, {"id": member["id"], "first": 51})
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_only_agents_and_admins_may_ask(client: GraphQLClient, settings: Settings) -> None:
    member = await enroll(client)
    agent = client.as_(token(settings, Role.AGENT))
    assert (await agent.data(CANDIDATES, {"id": member["id"]}))["duplicateCandidates"] == []
    for role, extra in [
        (Role.MEMBER, {"member_id": member["id"]}),
        (Role.POS, {"stores": ["store-001"]}),
        (Role.SERVICE, {}),
    ]:
        body = await client.as_(token(settings, role, **extra)).execute(  # type: ignore[arg-type]
            CANDIDATES, {"id": member["id"]}
        )
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", role
