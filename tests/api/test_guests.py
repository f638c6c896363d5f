"""recordGuestActivity over real HTTP: anonymous history, kept, then joined to the member."""

from __future__ import annotations

import uuid
from typing import Any

from resolvers.access import Role
from settings import Settings
from tests.api.test_identifiers import link
from tests.support.client import GraphQLClient, token
from tests.support.operations import ENROLL, enroll, unique_email

GUEST = """
mutation Guest($input: RecordGuestActivityInput!) {
  recordGuestActivity(input: $input) {
    member { id version }
    guest { identifierKind activities firstSeenAt lastSeenAt }
    userErrors { code message field }
  }
}"""


async def guest(
    client: GraphQLClient, kind: str, value: str, activity: str = "PRODUCT_VIEW", key: str = ""
) -> dict[str, Any]:
    body = {
        "identifier": {"kind": kind, "value": value},
        "kind": activity,
        "channel": "WEB",
        "idempotencyKey": key or uuid.uuid4().hex,
    }
    result: dict[str, Any] = (await client.data(GUEST, {"input": body}))["recordGuestActivity"]
    return result


async def test_a_cookie_keeps_its_history_until_its_member_enrols(client: GraphQLClient) -> None:
    cookie = f"ck-{uuid.uuid4().hex}"
    first = await guest(client, "WEB_COOKIE", cookie, key="view-1")
    assert first["member"] is None and first["guest"]["activities"] == 1
    assert (await guest(client, "WEB_COOKIE", cookie, key="view-1"))["guest"]["activities"] == 1
    await guest(client, "WEB_COOKIE", cookie, activity="APP_SESSION")
    third = await guest(client, "WEB_COOKIE", cookie, activity="PRODUCT_VIEW")
    assert third["guest"]["identifierKind"] == "WEB_COOKIE" and third["guest"]["activities"] == 3

    enrolled = await client.data(
        ENROLL,
        {
            "input": {
                "identifiers": [
                    {"kind": "EMAIL", "value": unique_email()},
                    {"kind": "WEB_COOKIE", "value": cookie},
                ],
                "channel": "WEB",
            }
        },
    )
    member = enrolled["enrollMember"]["member"]
    assert member["version"] == 2  # enrolled, then the guest's history joined
    assert member["balance"]["available"] == 0  # the demo program: guest activity earns nothing
    after = await guest(client, "WEB_COOKIE", cookie)
    assert after["guest"] is None and after["member"]["id"] == member["id"]
    assert after["member"]["version"] == 3


async def test_a_device_history_joins_when_the_device_is_linked(client: GraphQLClient) -> None:
    device = f"dev-{uuid.uuid4().hex}"
    await guest(client, "DEVICE_TOKEN", device, activity="APP_SESSION")
    member = await enroll(client)
    linked = await link(client, member["id"], "DEVICE_TOKEN", device)
    assert linked["userErrors"] == []
    assert linked["member"]["version"] == 3  # linked, then joined
    assert (await guest(client, "DEVICE_TOKEN", device))["member"]["id"] == member["id"]


async def test_only_cookies_and_devices_and_only_some_roles(
    client: GraphQLClient, settings: Settings
) -> None:
    refused = await guest(client, "EMAIL", unique_email())
    assert refused["userErrors"][0]["code"] == "INVALID_INPUT"
    assert refused["userErrors"][0]["field"] == ["input", "identifier", "kind"]
    agent = client.as_(token(settings, Role.AGENT))
    forbidden = await guest(agent, "WEB_COOKIE", f"ck-{uuid.uuid4().hex}")
    assert forbidden["userErrors"][0]["code"] == "FORBIDDEN"
    service = client.as_(token(settings, Role.SERVICE))
    assert (await guest(service, "WEB_COOKIE", f"ck-{uuid.uuid4().hex}"))["userErrors"] == []
