"""The GraphQL documents the tests send, written once."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.client import GraphQLClient

MEMBER_FIELDS = """
  id version
  profile { firstName lastName email phone birthday consents { email sms push personalization } }
  identifiers { kind value verified }
  balance { available pending lifetime value { amount currencyCode } }
  tier { current { id name } next { id name } qualifyingPoints pointsToNext progress }
"""

ENROLL = f"""
mutation Enroll($input: EnrollMemberInput!) {{
  enrollMember(input: $input) {{ member {{ {MEMBER_FIELDS} }} userErrors {{ code message field }} }}
}}"""

PURCHASE = """
mutation Purchase($input: RecordPurchaseInput!) {
  recordPurchase(input: $input) {
    member { id version balance { available pending lifetime } tier { current { id } } }
    entry { id kind points balanceAfter status description }
    userErrors { code message field }
  }
}"""

REDEEM = """
mutation Redeem($input: RedeemRewardInput!) {
  redeemReward(input: $input) {
    member { id version balance { available } }
    issuedReward { id code status reward { id name } expiresAt }
    entry { kind points }
    userErrors { code message field }
  }
}"""

USE = """
mutation Use($input: UseIssuedRewardInput!) {
  useIssuedReward(input: $input) {
    issuedReward { id status usedAt }
    member { version }
    userErrors { code message field }
  }
}"""

MEMBER_UPDATED = """
subscription Watch($id: ID!, $since: Int) {
  memberUpdated(memberId: $id, sinceVersion: $since) {
    memberId version changes coalesced
    member { version balance { available } tier { current { id } } }
    entry { kind points }
  }
}"""


def unique_email() -> str:
    return f"m-{uuid.uuid4().hex[:12]}@Example.com"


async def enroll(client: GraphQLClient, **extra: Any) -> dict[str, Any]:
    """A new member with a unique email; returns the member."""
    payload = {
        "identifiers": [{"kind": "EMAIL", "value": unique_email()}],
        "channel": "APP",
        **extra,
    }
    result = (await client.data(ENROLL, {"input": payload}))["enrollMember"]
    assert result["userErrors"] == [], result
    member: dict[str, Any] = result["member"]
    return member


async def purchase(
    client: GraphQLClient, member_id: str, amount: str, key: str | None = None, **extra: Any
) -> dict[str, Any]:
    payload = {
        "memberId": member_id,
        "amount": amount,
        "currencyCode": "EUR",
        "channel": "POS",
        "storeId": "store-001",
        "orderId": f"o-{uuid.uuid4().hex[:10]}",
        "idempotencyKey": key or uuid.uuid4().hex,
        **extra,
    }
    result: dict[str, Any] = (await client.data(PURCHASE, {"input": payload}))["recordPurchase"]
    return result
