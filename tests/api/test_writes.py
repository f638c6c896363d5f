"""The write mutations over real HTTP: enrolment, profile, purchase, redemption, use."""

from __future__ import annotations

import uuid

from tests.support.client import GraphQLClient
from tests.support.operations import ENROLL, PURCHASE, REDEEM, USE, enroll, purchase, unique_email

UPDATE = """
mutation Update($input: UpdateProfileInput!) {
  updateProfile(input: $input) {
    member { version profile { firstName birthday preferredChannel consents { email sms } } }
    userErrors { code message field }
  }
}"""


async def test_enrolment_normalises_identifiers_and_starts_at_version_one(
    client: GraphQLClient,
) -> None:
    email = unique_email()
    result = await client.data(
        ENROLL,
        {
            "input": {
                "identifiers": [
                    {"kind": "EMAIL", "value": f"  {email.upper()} "},
                    {"kind": "PHONE", "value": "06 1234 5678"},
                ],
                "firstName": "Ada",
                "channel": "WEB",
                "consents": {"email": True},
            }
        },
    )
    member = result["enrollMember"]["member"]
    assert result["enrollMember"]["userErrors"] == []
    assert member["version"] == 1
    assert member["profile"]["email"] == email.lower()
    assert member["profile"]["phone"] == "+31612345678"
    assert member["profile"]["consents"] == {
        "email": True,
        "sms": False,
        "push": False,
        "personalization": False,
    }
    assert [i["kind"] for i in member["identifiers"]] == ["EMAIL", "PHONE"]
    assert member["tier"]["current"]["id"] == "member"
    assert member["balance"] == {
        "available": 0,
        "pending": 0,
        "lifetime": 0,
        "value": {"amount": "0.00", "currencyCode": "EUR"},
    }


async def test_an_identifier_owned_by_another_member_is_taken(client: GraphQLClient) -> None:
    email = unique_email()
    first = await client.data(
        ENROLL, {"input": {"identifiers": [{"kind": "EMAIL", "value": email}], "channel": "APP"}}
    )
    assert first["enrollMember"]["userErrors"] == []
    again = await client.data(
        ENROLL,
        {"input": {"identifiers": [{"kind": "EMAIL", "value": email.upper()}], "channel": "APP"}},
    )
    assert again["enrollMember"]["member"] is None
    assert [e["code"] for e in again["enrollMember"]["userErrors"]] == ["IDENTIFIER_TAKEN"]


async def test_enrolment_refuses_bad_identifiers_with_the_field_path(client: GraphQLClient) -> None:
    result = await client.data(
        ENROLL,
        {
            "input": {
                "identifiers": [
                    {"kind": "EMAIL", "value": unique_email()},
                    {"kind": "PHONE", "value": "12"},
                ],
                "channel": "APP",
            }
        },
    )
    errors = result["enrollMember"]["userErrors"]
    assert errors[0]["code"] == "INVALID_INPUT"
    assert errors[0]["field"] == ["input", "identifiers", "1", "value"]
    none = await client.data(ENROLL, {"input": {"identifiers": [], "channel": "APP"}})
    assert none["enrollMember"]["userErrors"][0]["field"] == ["input", "identifiers"]


async def test_profile_update_changes_only_what_is_given(client: GraphQLClient) -> None:
    member = await enroll(client, firstName="Grace", consents={"email": True, "sms": True})
    result = await client.data(
        UPDATE,
        {"input": {"memberId": member["id"], "birthday": "1990-05-17", "consents": {"sms": False}}},
    )
    updated = result["updateProfile"]["member"]
    assert result["updateProfile"]["userErrors"] == []
    assert updated["version"] == 2
    assert updated["profile"]["firstName"] == "Grace"
    assert updated["profile"]["birthday"] == "1990-05-17"
    assert updated["profile"]["consents"] == {"email": True, "sms": False}
    bad = await client.data(UPDATE, {"input": {"memberId": member["id"], "birthday": "17/05/1990"}})
    assert bad["updateProfile"]["userErrors"][0]["field"] == ["input", "birthday"]


async def test_purchase_earns_floor_of_amount_times_rate_times_multiplier(
    client: GraphQLClient,
) -> None:
    member = await enroll(client)
    first = await purchase(client, member["id"], "499.99")
    assert first["userErrors"] == []
    assert first["entry"]["points"] == 499
    assert first["entry"]["kind"] == "EARN"
    assert first["entry"]["balanceAfter"] == 499
    crossing = await purchase(client, member["id"], "10.00")
    # bought as Member (x1.0): 10 points, which lifts the member to Silver (500)
    assert crossing["entry"]["points"] == 10
    assert crossing["member"]["tier"]["current"]["id"] == "silver"
    silver = await purchase(client, member["id"], "10.99")
    assert silver["entry"]["points"] == 13  # floor(10.99 x 1.25)
    assert silver["member"]["balance"] == {"available": 522, "pending": 0, "lifetime": 522}
    assert silver["member"]["version"] == 4


async def test_purchase_input_is_checked_with_the_field_path(client: GraphQLClient) -> None:
    member = await enroll(client)
    cases = {
        "12.345": ["input", "amount"],
        "-5": ["input", "amount"],
        "abc": ["input", "amount"],
        "10000.01": ["input", "amount"],
        "99999999999999999999": ["input", "amount"],
    }
    for amount, field in cases.items():
        result = await purchase(client, member["id"], amount)
        assert [(e["code"], e["field"]) for e in result["userErrors"]] == [("INVALID_INPUT", field)]
    dollars = await purchase(client, member["id"], "10.00", currencyCode="USD")
    assert dollars["userErrors"][0]["field"] == ["input", "currencyCode"]
    # a currency other than the program's outranks a bad amount (the contract's order)
    both = await purchase(client, member["id"], "x", currencyCode="USD")
    assert both["userErrors"][0]["field"] == ["input", "currencyCode"]
    unknown = await purchase(client, "mbr_000000000000000000000000", "10.00")
    assert unknown["userErrors"][0]["code"] == "NOT_FOUND"
    after = await client.data(
        "query($id: ID!) { member(id: $id) { version } }", {"id": member["id"]}
    )
    assert after["member"]["version"] == 1, "a refused purchase writes nothing"


async def test_a_retried_purchase_has_one_effect_and_a_changed_one_conflicts(
    client: GraphQLClient,
) -> None:
    member = await enroll(client)
    key = uuid.uuid4().hex
    payload = {
        "memberId": member["id"],
        "amount": "20.00",
        "currencyCode": "EUR",
        "channel": "POS",
        "storeId": "store-001",
        "orderId": "R-1",
        "idempotencyKey": key,
    }
    first = (await client.data(PURCHASE, {"input": payload}))["recordPurchase"]
    second = (await client.data(PURCHASE, {"input": payload}))["recordPurchase"]
    assert first == second
    changed = (await client.data(PURCHASE, {"input": {**payload, "amount": "30.00"}}))[
        "recordPurchase"
    ]
    assert changed["userErrors"] == [
        {
            "code": "IDEMPOTENCY_CONFLICT",
            "message": "this idempotency key was used with a different request",
            "field": ["input", "idempotencyKey"],
        }
    ]
    now = await client.data(
        "query($id: ID!) { member(id: $id) { version balance { available } } }",
        {"id": member["id"]},
    )
    assert now["member"] == {"version": 2, "balance": {"available": 20}}


async def test_redemption_checks_channel_tier_and_points_in_that_order(
    client: GraphQLClient,
) -> None:
    member = await enroll(client)
    await purchase(client, member["id"], "200.00")

    async def redeem(reward: str, channel: str) -> dict[str, object]:
        payload = {
            "memberId": member["id"],
            "rewardId": reward,
            "channel": channel,
            "storeId": "store-001",
            "idempotencyKey": uuid.uuid4().hex,
        }
        result: dict[str, object] = (await client.data(REDEEM, {"input": payload}))["redeemReward"]
        return result

    def codes(result: dict[str, object]) -> list[str]:
        return [e["code"] for e in result["userErrors"]]  # type: ignore[attr-defined]

    assert codes(await redeem("rwd_free-coffee", "APP")) == ["REWARD_UNAVAILABLE"]
    assert codes(await redeem("rwd_gold-lounge", "POS")) == ["TIER_TOO_LOW"]
    assert codes(await redeem("rwd_five-off", "POS")) == ["INSUFFICIENT_POINTS"]
    assert codes(await redeem("rwd_no-such-thing", "POS")) == ["NOT_FOUND"]
    done = await redeem("rwd_free-coffee", "POS")
    assert codes(done) == []
    assert done["member"] == {"id": member["id"], "version": 3, "balance": {"available": 50}}
    issued = done["issuedReward"]
    assert issued["status"] == "ACTIVE" and len(issued["code"]) == 10  # type: ignore[index]
    assert done["entry"] == {"kind": "REDEEM", "points": -150}


async def test_an_issued_reward_is_used_once(client: GraphQLClient) -> None:
    member = await enroll(client)
    await purchase(client, member["id"], "150.00")
    redeemed = (
        await client.data(
            REDEEM,
            {
                "input": {
                    "memberId": member["id"],
                    "rewardId": "rwd_free-coffee",
                    "channel": "KIOSK",
                    "storeId": "store-001",
                    "idempotencyKey": uuid.uuid4().hex,
                }
            },
        )
    )["redeemReward"]
    issued_id = redeemed["issuedReward"]["id"]

    async def use(key: str) -> dict[str, object]:
        payload = {
            "issuedRewardId": issued_id,
            "channel": "POS",
            "storeId": "store-001",
            "idempotencyKey": key,
        }
        result: dict[str, object] = (await client.data(USE, {"input": payload}))["useIssuedReward"]
        return result

    used = await use("use-1")
    assert used["userErrors"] == []
    assert used["issuedReward"]["status"] == "REDEEMED"  # type: ignore[index]
    assert (await use("use-1")) == used  # a retry is the same answer
    again = await use("use-2")
    assert [e["code"] for e in again["userErrors"]] == ["REWARD_UNAVAILABLE"]  # type: ignore[attr-defined]
