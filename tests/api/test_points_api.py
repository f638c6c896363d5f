"""The points economy over real HTTP and WebSocket: recordActivity, adjustPoints,
reverseEntry, recordReturn, referrals, challenges, tiers and programStats, with every error
code they answer and the pushes on memberUpdated."""

from __future__ import annotations

import asyncio

from resolvers.access import Role
from settings import Settings
from tests.support.client import GraphQLClient, token, transport_ws
from tests.support.operations import ENROLL, enroll, unique_email
from tests.support.points import (
    ACTIVITY,
    ACTIVITY_LOG,
    MEMBER,
    WATCH,
    activity,
    adjust,
    buy,
    codes,
    give_back,
    key,
    reverse,
)
from tests.support.servers import InProcessServer


async def test_activities_earn_within_caps_and_say_when_the_cap_is_reached(
    client: GraphQLClient,
) -> None:
    member = await enroll(client)
    first = await activity(client, member["id"], "APP_DOWNLOAD")
    assert first["userErrors"] == [] and first["warnings"] == []
    assert first["entry"]["points"] == 100
    assert first["member"]["balance"]["available"] == 100
    again = await activity(client, member["id"], "APP_DOWNLOAD")
    assert again["userErrors"] == []
    assert [w["code"] for w in again["warnings"]] == ["LIMIT_REACHED"]
    assert again["entry"] is None
    assert again["member"]["version"] == first["member"]["version"] + 1  # recorded anyway
    assert again["member"]["balance"]["available"] == 100
    visit = await activity(client, member["id"], "STORE_VISIT", channel="POS", storeId="s-7")
    assert visit["entry"]["points"] == 10
    view = await activity(client, member["id"], "PRODUCT_VIEW", attributes='{"sku": "A1"}')
    assert view["entry"] is None and view["warnings"] == []


async def test_profile_completed_stores_the_answers_and_completes_the_challenge(
    client: GraphQLClient,
) -> None:
    member = await enroll(client)
    answers = '{"preferredCategories": "coffee,books", "shoeSize": 42}'
    done = await activity(client, member["id"], "PROFILE_COMPLETED", attributes=answers)
    assert done["userErrors"] == []
    assert done["member"]["balance"]["available"] == 150  # 100 + the challenge's 50
    challenge = next(
        c for c in done["member"]["challenges"] if c["challengeId"] == "complete-profile"
    )
    assert challenge == {
        "challengeId": "complete-profile",
        "progress": 1,
        "goal": 1,
        "completed": True,
        "rewardPoints": 50,
    }
    profile = await client.data(
        "query($id: ID!) { member(id: $id) { profile { answers { key value } } } }",
        {"id": member["id"]},
    )
    assert profile["member"]["profile"]["answers"] == [
        {"key": "preferredCategories", "value": "coffee,books"},
        {"key": "shoeSize", "value": "42"},
    ]


async def test_activity_input_errors_and_access(client: GraphQLClient, settings: Settings) -> None:
    member = await enroll(client)
    for extra, field in [
        ({"attributes": "not json"}, ["input", "attributes"]),
        ({"attributes": "[1, 2]"}, ["input", "attributes"]),
    ]:
        bad = await activity(client, member["id"], "REVIEW", **extra)
        assert [(e["code"], e["field"]) for e in bad["userErrors"]] == [("INVALID_INPUT", field)]
    survey = await activity(client, member["id"], "SURVEY")
    assert survey["userErrors"][0]["field"] == ["input", "attributes"]
    visit = await activity(client, member["id"], "STORE_VISIT")
    assert visit["userErrors"][0]["field"] == ["input", "storeId"]
    missing = await activity(client, "mbr_doesnotexist", "REVIEW")
    assert codes(missing) == ["NOT_FOUND"]
    agent = client.as_(token(settings, Role.AGENT))
    assert codes(await activity(agent, member["id"], "REVIEW")) == ["FORBIDDEN"]
    other = client.as_(token(settings, Role.MEMBER, member_id="mbr_someoneelse"))
    assert codes(await activity(other, member["id"], "REVIEW")) == ["FORBIDDEN"]
    own = client.as_(token(settings, Role.MEMBER, member_id=member["id"]))
    assert codes(await activity(own, member["id"], "REVIEW")) == ["FORBIDDEN"]
    backend = client.as_(token(settings, Role.SERVICE))
    assert (await activity(backend, member["id"], "REVIEW"))["entry"]["points"] == 25


async def test_a_retried_activity_has_one_effect(client: GraphQLClient) -> None:
    member = await enroll(client)
    same = key()
    payload = {"memberId": member["id"], "kind": "REVIEW", "channel": "WEB", "idempotencyKey": same}
    first = (await client.data(ACTIVITY, {"input": payload}))["recordActivity"]
    second = (await client.data(ACTIVITY, {"input": payload}))["recordActivity"]
    assert first == second
    assert second["member"]["balance"]["available"] == 25
    changed = {**payload, "kind": "SOCIAL_SHARE"}
    conflict = (await client.data(ACTIVITY, {"input": changed}))["recordActivity"]
    assert codes(conflict) == ["IDEMPOTENCY_CONFLICT"]


async def test_adjustments_by_agents_with_reason_and_actor(
    client: GraphQLClient, settings: Settings
) -> None:
    member = await enroll(client)
    agent = client.as_(token(settings, Role.AGENT, subject="agent-ann"))
    added = await adjust(agent, member["id"], 250, "points missing from order 77")
    assert added["userErrors"] == []
    assert added["entry"]["kind"] == "ADJUSTMENT"
    assert added["entry"]["reason"] == "points missing from order 77"
    assert added["entry"]["actor"] == "agent-ann"
    assert added["member"]["balance"] == {
        "available": 250,
        "pending": 0,
        "lifetime": 0,
        "expiringSoon": [],
    }
    log = await client.data(ACTIVITY_LOG, {"id": member["id"]})
    node = log["member"]["activity"]["edges"][0]["node"]
    assert (node["kind"], node["actor"], node["reason"]) == (
        "ADJUSTMENT",
        "agent-ann",
        "points missing from order 77",
    )
    assert codes(await adjust(agent, member["id"], -251)) == ["INSUFFICIENT_POINTS"]
    assert codes(await adjust(agent, member["id"], 10, "   ")) == ["INVALID_INPUT"]
    assert codes(await adjust(agent, member["id"], 0)) == ["INVALID_INPUT"]
    assert codes(await adjust(agent, "mbr_nobody", 10)) == ["NOT_FOUND"]
    till = client.as_(token(settings, Role.POS, stores=["store-001"]))
    assert codes(await adjust(till, member["id"], 10)) == ["FORBIDDEN"]
    own = client.as_(token(settings, Role.MEMBER, member_id=member["id"]))
    assert codes(await adjust(own, member["id"], 10)) == ["FORBIDDEN"]
    removed = await adjust(agent, member["id"], -50, "duplicate credit")
    assert removed["member"]["balance"]["available"] == 200


async def test_reverse_entry_once_with_the_push(
    client: GraphQLClient, server: InProcessServer, admin_token: str, settings: Settings
) -> None:
    member = await enroll(client)
    bought = await buy(client, member["id"], "120.00")
    async with transport_ws(server.ws_url, admin_token) as ws:
        await ws.subscribe(WATCH, {"id": member["id"]})
        await asyncio.sleep(0.2)
        done = await reverse(client, bought["entry"]["id"], "returned at the till")
        assert done["userErrors"] == []
        assert done["entry"]["kind"] == "REVERSAL"
        assert done["entry"]["points"] == -120
        assert done["entry"]["reverses"] == bought["entry"]["id"]
        update = (await ws.next_data())["memberUpdated"]
    assert update["changes"] == ["POINTS_REVERSED"]
    assert update["entry"] == {"kind": "REVERSAL", "points": -120}
    assert update["member"]["balance"] == {"available": 0, "pending": 0, "lifetime": 0}
    assert codes(await reverse(client, bought["entry"]["id"])) == ["ALREADY_REVERSED"]
    assert codes(await reverse(client, "led_nope")) == ["NOT_FOUND"]
    assert codes(await reverse(client, bought["entry"]["id"], " ")) == ["INVALID_INPUT"]
    till = client.as_(token(settings, Role.POS, stores=["store-001"]))
    assert codes(await reverse(till, bought["entry"]["id"])) == ["FORBIDDEN"]


async def test_a_redemption_cannot_be_reversed_and_spent_points_leave_a_debt(
    client: GraphQLClient,
) -> None:
    member = await enroll(client)
    bought = await buy(client, member["id"], "200.00")
    redeemed = await client.data(
        "mutation($input: RedeemRewardInput!) { redeemReward(input: $input) {"
        " entry { id } userErrors { code } } }",
        {
            "input": {
                "memberId": member["id"],
                "rewardId": "rwd_free-coffee",
                "channel": "POS",
                "storeId": "store-001",
                "idempotencyKey": key(),
            }
        },
    )
    assert redeemed["redeemReward"]["userErrors"] == []
    refused = await reverse(client, redeemed["redeemReward"]["entry"]["id"])
    assert codes(refused) == ["INVALID_INPUT"]
    done = await reverse(client, bought["entry"]["id"])
    # the program file's policy is "allow": the spent 150 become a debt
    assert done["member"]["balance"]["available"] == -150
    repaid = await buy(client, member["id"], "160.00")
    assert repaid["member"]["balance"]["available"] == 10


async def test_partial_returns_reverse_in_proportion(client: GraphQLClient) -> None:
    member = await enroll(client)
    await buy(client, member["id"], "100.00", order="R-55")
    part = await give_back(client, member["id"], "R-55", "33.33", reason="one shirt")
    assert part["userErrors"] == []
    assert part["entry"]["points"] == -33
    assert part["member"]["balance"]["available"] == 67
    too_much = await give_back(client, member["id"], "R-55", "66.68")
    assert [(e["code"], e["field"]) for e in too_much["userErrors"]] == [
        ("INVALID_INPUT", ["input", "returnedAmount"])
    ]
    rest = await give_back(client, member["id"], "R-55", "66.67")
    assert rest["entry"]["points"] == -67
    assert rest["member"]["balance"]["available"] == 0
    assert codes(await give_back(client, member["id"], "R-55", "1.00")) == ["ALREADY_REVERSED"]
    assert codes(await give_back(client, member["id"], "R-none", "1.00")) == ["NOT_FOUND"]
    assert codes(await give_back(client, member["id"], "R-55", "abc")) == ["INVALID_INPUT"]


async def test_referral_two_sided_once_and_pushed_to_the_referrer(
    client: GraphQLClient, server: InProcessServer, admin_token: str
) -> None:
    referrer = await enroll(client)
    friend = await enroll(client, referredBy=referrer["id"])
    assert friend["balance"]["available"] == 100  # the welcome bonus
    async with transport_ws(server.ws_url, admin_token) as ws:
        await ws.subscribe(WATCH, {"id": referrer["id"]})
        await asyncio.sleep(0.2)
        first_purchase = await buy(client, friend["id"], "20.00", order="F-1")
        update = (await ws.next_data())["memberUpdated"]
        assert update["changes"] == ["POINTS_EARNED"]
        assert update["entry"] == {"kind": "BONUS", "points": 200}
        await buy(client, friend["id"], "20.00", order="F-2")  # one reward per referee
        first = await client.data(MEMBER, {"id": referrer["id"]})
        assert first["member"]["balance"]["available"] == 200
        # the bonus depended on the purchase: reversing it takes the bonus back
        await reverse(client, first_purchase["entry"]["id"])
        taken = (await ws.next_data())["memberUpdated"]
    assert taken["changes"] == ["POINTS_REVERSED"]
    assert taken["member"]["balance"]["available"] == 0


async def test_self_referral_is_refused(client: GraphQLClient) -> None:
    email = unique_email()
    referrer = await enroll(client)
    own = await client.data(
        ENROLL,
        {
            "input": {
                "identifiers": [{"kind": "EMAIL", "value": email}],
                "channel": "APP",
                "referredBy": "mbr_nobody",
            }
        },
    )
    assert own["enrollMember"]["userErrors"][0]["field"] == ["input", "referredBy"]
    profile_email = referrer["profile"]["email"]
    same = await client.data(
        ENROLL,
        {
            "input": {
                "identifiers": [
                    {"kind": "EMAIL", "value": profile_email},
                ],
                "channel": "APP",
                "referredBy": referrer["id"],
            }
        },
    )
    assert [(e["code"], e["field"]) for e in same["enrollMember"]["userErrors"]] == [
        ("INVALID_INPUT", ["input", "referredBy"])
    ]


async def test_tier_upgrade_is_pushed_and_the_status_is_exact(
    client: GraphQLClient, server: InProcessServer, admin_token: str
) -> None:
    member = await enroll(client)
    await buy(client, member["id"], "450.00")
    async with transport_ws(server.ws_url, admin_token) as ws:
        await ws.subscribe(WATCH, {"id": member["id"]})
        await asyncio.sleep(0.2)
        await buy(client, member["id"], "60.00")
        update = (await ws.next_data())["memberUpdated"]
    assert update["changes"] == ["POINTS_EARNED", "TIER_CHANGED"]
    assert update["member"]["tier"]["current"]["id"] == "silver"
    status = await client.data(
        "query($id: ID!) { member(id: $id) { tier { current { id } previous { id } next { id } "
        "qualifyingPoints pointsToNext progress since } } }",
        {"id": member["id"]},
    )
    tier = status["member"]["tier"]
    assert tier["current"]["id"] == "silver" and tier["next"]["id"] == "gold"
    assert tier["previous"] == {"id": "member"}
    assert tier["qualifyingPoints"] == 510
    assert tier["pointsToNext"] == 1490
    assert tier["progress"] == (510 - 500) / (2000 - 500)


async def test_category_challenge_progress_from_purchase_lines(client: GraphQLClient) -> None:
    member = await enroll(client)
    lines = [{"sku": "LATTE", "quantity": 3, "unitPrice": "3.00", "category": "Coffee"}]
    first = await buy(client, member["id"], "9.00", lines=lines)
    coffee = next(c for c in first["member"]["challenges"] if c["challengeId"] == "coffee-lover")
    assert (coffee["progress"], coffee["completed"]) == (3, False)
    second = await buy(client, member["id"], "9.00", lines=lines)
    coffee = next(c for c in second["member"]["challenges"] if c["challengeId"] == "coffee-lover")
    assert (coffee["progress"], coffee["completed"]) == (5, True)
    assert second["member"]["balance"]["available"] == 9 + 9 + 150


async def test_program_stats_for_admins_only(client: GraphQLClient, settings: Settings) -> None:
    member = await enroll(client)
    await buy(client, member["id"], "300.00")
    query = """query { programStats { members activeMembers30d activeMembers90d pointsIssued
      pointsRedeemed pointsExpired pointsOutstanding redemptionRate
      outstandingLiability { amount currencyCode } } }"""
    stats = (await client.data(query))["programStats"]
    assert stats["members"] >= 1 and stats["activeMembers30d"] >= 1
    assert stats["pointsIssued"] >= 300
    assert stats["activeMembers90d"] >= stats["activeMembers30d"]
    assert 0 <= stats["redemptionRate"] <= 1
    assert stats["outstandingLiability"]["currencyCode"] == "EUR"
    agent = client.as_(token(settings, Role.AGENT))
    body = await agent.execute(query)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    bad = await client.execute(
        'query { programStats(periodStart: "2026-01-02T00:00:00Z", '
        'periodEnd: "2026-01-01T00:00:00Z") { members } }'
    )
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_the_program_shows_its_points_rules(client: GraphQLClient) -> None:
    program = (
        await client.data(
            """{ program { pointsPolicy { expiry validityMonths noticeDays negativeBalance }
              activities { kind points cap } challenges { id goal rewardPoints period }
              referralWelcomeBonus referrerBonus birthdayBonus qualifyingMonths tierGraceDays } }"""
        )
    )["program"]
    assert program["pointsPolicy"] == {
        "expiry": "FIFO",
        "validityMonths": 12,
        "noticeDays": 30,
        "negativeBalance": "ALLOW",
    }
    assert {"kind": "REVIEW", "points": 25, "cap": 3} in program["activities"]
    assert [c["id"] for c in program["challenges"]] == [
        "three-stores",
        "coffee-lover",
        "complete-profile",
    ]
    assert (program["referralWelcomeBonus"], program["referrerBonus"]) == (100, 200)
    assert (program["birthdayBonus"], program["qualifyingMonths"], program["tierGraceDays"]) == (
        250,
        12,
        30,
    )
