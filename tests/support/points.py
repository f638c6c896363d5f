"""GraphQL documents and helpers for the points economy's API tests."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.client import GraphQLClient

ERRORS = "userErrors { code message field }"
ENTRY = "entry { id kind points balanceAfter status reason actor reverses description }"
FIELDS = """id version
  balance { available pending lifetime expiringSoon { points expiresAt } }
  tier { current { id } qualifyingPoints pointsToNext }
  challenges { challengeId progress goal completed rewardPoints }"""
STATE = f"member {{ {FIELDS} }}"

ACTIVITY = f"""
mutation Activity($input: RecordActivityInput!) {{
  recordActivity(input: $input) {{ {STATE} {ENTRY} {ERRORS} warnings {{ code message }} }}
}}"""

ADJUST = f"""
mutation Adjust($input: AdjustPointsInput!) {{
  adjustPoints(input: $input) {{ {STATE} {ENTRY} {ERRORS} }}
}}"""

REVERSE = f"""
mutation Reverse($input: ReverseEntryInput!) {{
  reverseEntry(input: $input) {{ {STATE} {ENTRY} {ERRORS} }}
}}"""

RETURN = f"""
mutation Return($input: RecordReturnInput!) {{
  recordReturn(input: $input) {{ {STATE} {ENTRY} {ERRORS} }}
}}"""

PURCHASE = f"""
mutation Purchase($input: RecordPurchaseInput!) {{
  recordPurchase(input: $input) {{ {STATE} {ENTRY} {ERRORS} }}
}}"""

MEMBER = f"""
query Member($id: ID!) {{
  member(id: $id) {{ {FIELDS} }}
}}"""

ACTIVITY_LOG = """
query Log($id: ID!) {
  member(id: $id) { activity(first: 20) { edges { node {
    id kind points status reason actor reverses returnedAmount } } } }
}"""

WATCH = """
subscription Watch($id: ID!) {
  memberUpdated(memberId: $id) {
    version changes
    member { balance { available pending lifetime } tier { current { id } } }
    entry { kind points }
  }
}"""


def key() -> str:
    return uuid.uuid4().hex


async def activity(
    client: GraphQLClient, member_id: str, kind: str, **extra: Any
) -> dict[str, Any]:
    payload = {
        "memberId": member_id,
        "kind": kind,
        "channel": "APP",
        "idempotencyKey": key(),
        **extra,
    }
    result: dict[str, Any] = (await client.data(ACTIVITY, {"input": payload}))["recordActivity"]
    return result


async def buy(
    client: GraphQLClient, member_id: str, amount: str, order: str | None = None, **extra: Any
) -> dict[str, Any]:
    payload = {
        "memberId": member_id,
        "amount": amount,
        "currencyCode": "EUR",
        "channel": "POS",
        "storeId": "store-001",
        "orderId": order or f"o-{key()[:10]}",
        "idempotencyKey": key(),
        **extra,
    }
    result: dict[str, Any] = (await client.data(PURCHASE, {"input": payload}))["recordPurchase"]
    assert result["userErrors"] == [], result
    return result


async def adjust(
    client: GraphQLClient, member_id: str, points: int, reason: str = "goodwill", **extra: Any
) -> dict[str, Any]:
    payload = {
        "memberId": member_id,
        "points": points,
        "reason": reason,
        "idempotencyKey": key(),
        **extra,
    }
    result: dict[str, Any] = (await client.data(ADJUST, {"input": payload}))["adjustPoints"]
    return result


async def reverse(
    client: GraphQLClient, entry_id: str, reason: str = "refund", **extra: Any
) -> dict[str, Any]:
    payload = {"entryId": entry_id, "reason": reason, "idempotencyKey": key(), **extra}
    result: dict[str, Any] = (await client.data(REVERSE, {"input": payload}))["reverseEntry"]
    return result


async def give_back(
    client: GraphQLClient, member_id: str, order: str, amount: str, **extra: Any
) -> dict[str, Any]:
    payload = {
        "memberId": member_id,
        "orderId": order,
        "returnedAmount": amount,
        "idempotencyKey": key(),
        **extra,
    }
    result: dict[str, Any] = (await client.data(RETURN, {"input": payload}))["recordReturn"]
    return result


def codes(result: dict[str, Any]) -> list[str]:
    return [e["code"] for e in result["userErrors"]]
