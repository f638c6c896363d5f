"""linkIdentifier / unlinkIdentifier over real HTTP and WebSocket."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from resolvers.access import Role
from settings import Settings
from tests.support.client import GraphQLClient, token, transport_ws
from tests.support.operations import MEMBER_UPDATED, enroll, unique_email
from tests.support.servers import InProcessServer

LINK = """
mutation Link($input: LinkIdentifierInput!) {
  linkIdentifier(input: $input) {
    member { id version profile { email phone } identifiers { kind value verified } }
    userErrors { code message field }
  }
}"""

UNLINK = """
mutation Unlink($input: UnlinkIdentifierInput!) {
  unlinkIdentifier(input: $input) {
    member { id version profile { email phone } identifiers { kind value verified } }
    userErrors { code message field }
  }
}"""

FIND = "query($k: IdentifierKind!, $v: String!) { memberByIdentifier(kind: $k, value: $v) { id } }"


def unique_phone() -> str:
    # A valid Dutch mobile number (06 1 + 7 digits), random so runs do not collide.
    return "06 1" + str(uuid.uuid4().int)[:7]


async def link(
    client: GraphQLClient, member_id: str, kind: str, value: str, verified: bool | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"memberId": member_id, "identifier": {"kind": kind, "value": value}}
    if verified is not None:
        body["verified"] = verified
    result: dict[str, Any] = (await client.data(LINK, {"input": body}))["linkIdentifier"]
    return result


async def unlink(client: GraphQLClient, member_id: str, kind: str, value: str) -> dict[str, Any]:
    body = {"memberId": member_id, "identifier": {"kind": kind, "value": value}}
    result: dict[str, Any] = (await client.data(UNLINK, {"input": body}))["unlinkIdentifier"]
    return result


async def test_a_linked_phone_finds_the_member_in_any_spelling(client: GraphQLClient) -> None:
    member = await enroll(client)
    phone = unique_phone()
    linked = await link(client, member["id"], "PHONE", phone, verified=True)
    assert linked["userErrors"] == []
    e164 = "+316" + phone.removeprefix("06 ")
    assert linked["member"]["version"] == 2
    assert linked["member"]["profile"]["phone"] == e164
    assert {"kind": "PHONE", "value": e164, "verified": True} in linked["member"]["identifiers"]
    for spelling in (phone, e164, "0031" + e164.removeprefix("+31")):
        found = await client.data(FIND, {"k": "PHONE", "v": spelling})
        assert found["memberByIdentifier"] == {"id": member["id"]}, spelling


async def test_linking_what_is_already_linked_changes_nothing(client: GraphQLClient) -> None:
    member = await enroll(client)
    email = member["profile"]["email"]
    again = await link(client, member["id"], "EMAIL", email.upper())
    assert again["userErrors"] == []
    assert again["member"]["version"] == 1
    verified = await link(client, member["id"], "EMAIL", email, verified=True)
    assert verified["member"]["version"] == 2
    assert verified["member"]["identifiers"] == [
        {"kind": "EMAIL", "value": email, "verified": True}
    ]


async def test_an_identifier_of_another_member_is_taken(client: GraphQLClient) -> None:
    owner = await enroll(client)
    other = await enroll(client)
    taken = await link(client, other["id"], "EMAIL", owner["profile"]["email"])
    assert taken["member"] is None
    assert taken["userErrors"][0]["code"] == "IDENTIFIER_TAKEN"
    assert taken["userErrors"][0]["field"] == ["input", "identifier", "value"]
    found = await client.data(FIND, {"k": "EMAIL", "v": owner["profile"]["email"]})
    assert found["memberByIdentifier"] == {"id": owner["id"]}


async def test_concurrent_links_of_one_identifier_give_it_to_exactly_one_member(
    client: GraphQLClient,
) -> None:
    members = [await enroll(client) for _ in range(6)]
    card = "9" + unique_phone()[3:] + "1234"
    results = await asyncio.gather(*[link(client, m["id"], "LOYALTY_CARD", card) for m in members])
    winners = [r["member"]["id"] for r in results if r["member"] is not None]
    codes = sorted(r["userErrors"][0]["code"] for r in results if r["member"] is None)
    assert len(winners) == 1
    assert codes == ["IDENTIFIER_TAKEN"] * 5
    found = await client.data(FIND, {"k": "LOYALTY_CARD", "v": card})
    assert found["memberByIdentifier"] == {"id": winners[0]}


async def test_an_unlinked_identifier_is_free_for_another_member(client: GraphQLClient) -> None:
    first = await enroll(client)
    second = await enroll(client)
    email = unique_email().lower()
    assert (await link(client, first["id"], "EMAIL", email))["userErrors"] == []
    released = await unlink(client, first["id"], "EMAIL", email)
    assert released["userErrors"] == []
    assert released["member"]["version"] == 3
    assert email not in [i["value"] for i in released["member"]["identifiers"]]
    assert (await client.data(FIND, {"k": "EMAIL", "v": email}))["memberByIdentifier"] is None
    moved = await link(client, second["id"], "EMAIL", email)
    assert moved["userErrors"] == []
    found = await client.data(FIND, {"k": "EMAIL", "v": email})
    assert found["memberByIdentifier"] == {"id": second["id"]}


async def test_unlink_refuses_the_last_identifier_and_one_not_held(client: GraphQLClient) -> None:
    member = await enroll(client)
    last = await unlink(client, member["id"], "EMAIL", member["profile"]["email"])
    assert last["member"] is None
    assert last["userErrors"][0]["code"] == "LAST_IDENTIFIER"
    absent = await unlink(client, member["id"], "EMAIL", "not-mine@example.com")
    assert absent["userErrors"][0]["code"] == "NOT_FOUND"
    bad = await unlink(client, member["id"], "PHONE", "not a phone")
    assert bad["userErrors"][0] == {
        "code": "INVALID_INPUT",
        "message": bad["userErrors"][0]["message"],
        "field": ["input", "identifier", "value"],
    }
    unknown = await link(client, "mbr_nobody", "EMAIL", unique_email())
    assert unknown["userErrors"][0]["code"] == "NOT_FOUND"


async def test_a_member_token_links_to_itself_only(
    client: GraphQLClient, settings: Settings
) -> None:
    mine = await enroll(client)
    other = await enroll(client)
    own = client.as_(token(settings, Role.MEMBER, member_id=mine["id"]))
    assert (await link(own, mine["id"], "DEVICE_TOKEN", "device-abc-1"))["userErrors"] == []
    refused = await link(own, other["id"], "DEVICE_TOKEN", "device-abc-2")
    assert refused["userErrors"][0]["code"] == "FORBIDDEN"
    till = client.as_(token(settings, Role.SERVICE))
    assert (await unlink(till, mine["id"], "DEVICE_TOKEN", "device-abc-1"))["userErrors"][0][
        "code"
    ] == "FORBIDDEN"


async def test_links_and_unlinks_are_pushed_to_subscribers(
    client: GraphQLClient, server: InProcessServer, admin_token: str
) -> None:
    member = await enroll(client)
    async with transport_ws(server.ws_url, admin_token) as ws:
        await ws.subscribe(MEMBER_UPDATED, {"id": member["id"]})
        await asyncio.sleep(0.2)  # let the subscription reach the bus
        await link(client, member["id"], "WEB_COOKIE", "cookie-123")
        await unlink(client, member["id"], "WEB_COOKIE", "cookie-123")
        linked = (await ws.next_data())["memberUpdated"]
        unlinked = (await ws.next_data())["memberUpdated"]
    assert (linked["version"], linked["changes"]) == (2, ["IDENTIFIER_LINKED"])
    assert (unlinked["version"], unlinked["changes"]) == (3, ["IDENTIFIER_UNLINKED"])
