"""The authorization matrix: every role against every operation, cell by cell, from the one
table in resolvers/access.py; the README shows that same table; refusals are audited."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from strawberry.permission import PermissionExtension
from websockets.asyncio.client import connect

from api.auth import issue
from resolvers.access import OPERATIONS, Role, table_markdown
from schema.build import build_schema
from schema.permissions import RolePermission
from settings import Settings
from tests.support.client import GraphQLClient, token
from tests.support.operations import enroll
from tests.support.servers import InProcessServer

README = Path(__file__).resolve().parents[2] / "README.md"
STORE = "store-001"


def key() -> str:
    return uuid.uuid4().hex


def write(operation: str) -> str:
    input_type = operation[0].upper() + operation[1:] + "Input"
    return f"mutation($i: {input_type}!) {{ {operation}(input: $i) {{ userErrors {{ code }} }} }}"


def documents(member_id: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """One request per query and mutation, addressed so that every scope rule passes: the
    member is the MEMBER token's own, the store the till's and kiosk's own."""
    m = member_id
    email = f"x-{key()[:8]}@example.com"
    return {
        "viewer": ("{ viewer { id } }", {}),
        "member": ("query($id: ID!) { member(id: $id) { id } }", {"id": m}),
        "memberByIdentifier": (
            '{ memberByIdentifier(kind: EMAIL, value: "nobody@example.com") { id } }',
            {},
        ),
        "node": ("query($id: ID!) { node(id: $id) { id } }", {"id": m}),
        "program": ("{ program { name } }", {}),
        "duplicateCandidates": (
            "query($id: ID!) { duplicateCandidates(memberId: $id) { reasons } }",
            {"id": m},
        ),
        "auditLog": ("{ auditLog(first: 1) { edges { cursor } } }", {}),
        "programStats": ("{ programStats { members } }", {}),
        "enrollMember": (
            write("enrollMember"),
            {
                "i": {
                    "identifiers": [{"kind": "EMAIL", "value": email}],
                    "channel": "POS",
                    "storeId": STORE,
                }
            },
        ),
        "updateProfile": (
            write("updateProfile"),
            {"i": {"memberId": m, "firstName": "Jo"}},
        ),
        "linkIdentifier": (
            write("linkIdentifier"),
            {"i": {"memberId": m, "identifier": {"kind": "EMAIL", "value": email}}},
        ),
        "unlinkIdentifier": (
            "mutation($i: UnlinkIdentifierInput!) { unlinkIdentifier(input: $i) "
            "{ userErrors { code } } }",
            {"i": {"memberId": m, "identifier": {"kind": "EMAIL", "value": email}}},
        ),
        "mergeMembers": (
            write("mergeMembers"),
            {"i": {"survivorId": m, "mergedId": "mbr_nobody", "reason": "matrix"}},
        ),
        "recordPurchase": (
            "mutation($i: RecordPurchaseInput!) { recordPurchase(input: $i) "
            "{ userErrors { code } } }",
            {
                "i": {
                    "memberId": m,
                    "amount": "1.00",
                    "currencyCode": "EUR",
                    "channel": "POS",
                    "storeId": STORE,
                    "orderId": key(),
                    "idempotencyKey": key(),
                }
            },
        ),
        "recordActivity": (
            "mutation($i: RecordActivityInput!) { recordActivity(input: $i) "
            "{ userErrors { code } } }",
            {
                "i": {
                    "memberId": m,
                    "kind": "APP_SESSION",
                    "channel": "APP",
                    "idempotencyKey": key(),
                }
            },
        ),
        "redeemReward": (
            write("redeemReward"),
            {
                "i": {
                    "memberId": m,
                    "rewardId": "tote-bag",
                    "channel": "POS",
                    "storeId": STORE,
                    "idempotencyKey": key(),
                }
            },
        ),
        "useIssuedReward": (
            "mutation($i: UseIssuedRewardInput!) { useIssuedReward(input: $i) "
            "{ userErrors { code } } }",
            {
                "i": {
                    "issuedRewardId": "iss_nothing",
                    "channel": "POS",
                    "storeId": STORE,
                    "idempotencyKey": key(),
                }
            },
        ),
        "reverseEntry": (
            write("reverseEntry"),
            {"i": {"entryId": "led_nothing", "reason": "matrix", "idempotencyKey": key()}},
        ),
        "adjustPoints": (
            write("adjustPoints"),
            {"i": {"memberId": m, "points": 1, "reason": "matrix", "idempotencyKey": key()}},
        ),
        "recordReturn": (
            write("recordReturn"),
            {
                "i": {
                    "memberId": m,
                    "orderId": "no-such-order",
                    "returnedAmount": "1.00",
                    "storeId": STORE,
                    "idempotencyKey": key(),
                }
            },
        ),
        "revealMember": (write("revealMember"), {"i": {"memberId": m, "reason": "matrix"}}),
        "exportMember": (write("exportMember"), {"i": {"memberId": m, "reason": "matrix"}}),
        # An unknown member: the cell shows the role check, and nobody's data is erased.
        "eraseMember": (write("eraseMember"), {"i": {"memberId": "mbr_nobody", "reason": "x"}}),
        "unmergeMember": (write("unmergeMember"), {"i": {"mergedId": "mbr_nobody", "reason": "x"}}),
        "recordGuestActivity": (
            write("recordGuestActivity"),
            {
                "i": {
                    "identifier": {"kind": "WEB_COOKIE", "value": f"ck-{key()}"},
                    "kind": "PRODUCT_VIEW",
                    "channel": "WEB",
                    "storeId": STORE,
                    "idempotencyKey": key(),
                }
            },
        ),
        "notifications": ("{ notifications(first: 1) { id } }", {}),
        "recordActionOutcome": (
            "mutation($i: RecordActionOutcomeInput!) { recordActionOutcome(input: $i) "
            "{ userErrors { code } } }",
            {"i": {"memberId": m, "actionId": "act_nothing", "outcome": "SHOWN", "channel": "APP"}},
        ),
    }


SUBSCRIPTIONS = {
    "memberUpdated": "subscription($id: ID!) { memberUpdated(memberId: $id, sinceVersion: 0) "
    "{ version } }",
    "storeActivity": f'subscription {{ storeActivity(storeId: "{STORE}") {{ kind }} }}',
    "notificationCreated": "subscription { notificationCreated { id } }",
}
# Streams that send nothing until something happens: silence after subscribing means allowed.
QUIET_SECONDS = 1.5


def codes(operation: str, body: dict[str, Any]) -> list[str]:
    found = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
    payload = (body.get("data") or {}).get(operation)
    if isinstance(payload, dict):
        found += [e["code"] for e in payload.get("userErrors") or []]
    return [c for c in found if c]


def tokens(settings: Settings, member_id: str) -> dict[Role, str]:
    return {
        role: token(
            settings,
            role,
            member_id=member_id if role is Role.MEMBER else None,
            stores=[STORE] if role in (Role.POS, Role.KIOSK) else None,
        )
        for role in Role
    }


def test_every_root_field_has_a_row_and_its_permission_class() -> None:
    schema = build_schema()
    seen: set[str] = set()
    for root in ("Query", "Mutation", "Subscription"):
        definition = schema.get_type_by_name(root)
        assert definition is not None
        for field in definition.fields:  # type: ignore[union-attr]
            assert field.graphql_name is None or field.graphql_name == field.name
            name = schema.config.name_converter.get_graphql_name(field)
            permissions = [
                p
                for ext in field.extensions
                if isinstance(ext, PermissionExtension)
                for p in ext.permissions
            ]
            assert all(isinstance(p, RolePermission) for p in permissions), name
            assert [getattr(p, "operation", None) for p in permissions] == [name], name
            seen.add(name)
    assert seen == set(OPERATIONS)


def test_the_readme_shows_the_table_as_it_is() -> None:
    assert table_markdown() in README.read_text(encoding="utf-8")


async def test_every_role_against_every_operation(
    client: GraphQLClient, server: InProcessServer, http: httpx.AsyncClient, settings: Settings
) -> None:
    member = await enroll(client)
    by_role = tokens(settings, member["id"])
    differences: list[str] = []
    for operation, (query, variables) in documents(member["id"]).items():
        for role, bearer in by_role.items():
            response = await http.post(
                f"{server.url}/graphql",
                json={"query": query, "variables": variables},
                headers={"authorization": f"Bearer {bearer}"},
            )
            assert response.status_code == 200, (operation, role, response.text)
            refused = "FORBIDDEN" in codes(operation, response.json())
            if refused == (role in OPERATIONS[operation]):
                differences.append(f"{operation} x {role.value}: {response.json()}")
    for role, bearer in by_role.items():
        async with connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {bearer}"}}
            await ws.send(json.dumps(init))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
            for operation, query in SUBSCRIPTIONS.items():
                op_id = key()
                payload = {"query": query, "variables": {"id": member["id"]}}
                await ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))
                message: dict[str, Any] = {"type": "silent"}
                with contextlib.suppress(TimeoutError):
                    while True:
                        received = json.loads(await asyncio.wait_for(ws.recv(), QUIET_SECONDS))
                        if received.get("id") == op_id:
                            message = received
                            break
                errors = message["payload"] if message["type"] == "error" else []
                refused = any(e.get("extensions", {}).get("code") == "FORBIDDEN" for e in errors)
                if refused == (role in OPERATIONS[operation]):
                    differences.append(f"{operation} x {role.value}: {message}")
                if message["type"] in ("next", "silent"):
                    await ws.send(json.dumps({"id": op_id, "type": "complete"}))
    assert differences == []


@pytest.mark.parametrize("role", [Role.MEMBER, Role.POS])
async def test_a_refusal_is_on_the_audit_trail(
    client: GraphQLClient, settings: Settings, role: Role
) -> None:
    member = await enroll(client)
    other = await enroll(client)
    subject = f"refused-{key()[:8]}"
    bearer = issue(
        settings.auth_secret.get_secret_value(),
        settings.auth_issuer,
        audience=settings.auth_audience,
        subject=subject,
        role=role,
        member_id=other["id"] if role is Role.MEMBER else None,
        store_ids=["store-999"] if role is Role.POS else None,
    )
    # MEMBER: someone else's member (scope); POS: adjustPoints is not a till's (role).
    if role is Role.MEMBER:
        body = await client.as_(bearer).execute(
            "query($id: ID!) { member(id: $id) { id } }", {"id": member["id"]}
        )
        assert codes("member", body) == ["FORBIDDEN"]
        action = "member"
    else:
        query, variables = documents(member["id"])["adjustPoints"]
        body = await client.as_(bearer).execute(query, variables)
        assert codes("adjustPoints", body) == ["FORBIDDEN"]
        action = "adjustPoints"
    trail = await client.data(
        "query($id: ID!) { auditLog(memberId: $id, first: 10) { edges { node "
        "{ action actor role outcome memberId requestId } } } }",
        {"id": member["id"]},
    )
    refusals = [e["node"] for e in trail["auditLog"]["edges"] if e["node"]["actor"] == subject]
    assert len(refusals) == 1
    assert refusals[0]["action"] == action
    assert refusals[0]["role"] == role.value
    assert refusals[0]["outcome"] == "FORBIDDEN"
    assert refusals[0]["requestId"]
