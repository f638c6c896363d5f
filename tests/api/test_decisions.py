"""Decisioning over the API: nextBestActions, recordActionOutcome, notification intents for
senders, storeActivity for the store's screens, and the scheduled win-back journey."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from resolvers.access import Role
from settings import Settings
from tests.support.client import GraphQLClient, token, transport_ws
from tests.support.operations import enroll, purchase
from tests.support.servers import InProcessServer

NBA = """
query($id: ID!, $channel: Channel!, $first: Int) {
  member(id: $id) {
    version churnRisk churnFactors
    nextBestActions(context: {channel: $channel}, first: $first) {
      id kind channel title message score reasons reward { id name }
    }
  }
}"""

OUTCOME = """
mutation($input: RecordActionOutcomeInput!) {
  recordActionOutcome(input: $input) {
    member { version } userErrors { code message field }
  }
}"""

NOTIFICATIONS = """
query($member: ID, $after: String) {
  notifications(memberId: $member, after: $after, first: 100) {
    id memberId journey channel title message rewardId status reason createdAt notBefore cursor
  }
}"""

ACTIVITY = """
mutation($input: RecordActivityInput!) {
  recordActivity(input: $input) { member { version } userErrors { code message } }
}"""

STORE = """
subscription($store: ID!) {
  storeActivity(storeId: $store) { storeId kind at member { id tier { current { id } } } }
}"""


async def _actions(client: GraphQLClient, member_id: str, channel: str) -> list[dict[str, Any]]:
    data = await client.data(NBA, {"id": member_id, "channel": channel, "first": 20})
    actions: list[dict[str, Any]] = data["member"]["nextBestActions"]
    return actions


async def _outcome(
    client: GraphQLClient, member_id: str, action_id: str, outcome: str, channel: str, **extra: Any
) -> dict[str, Any]:
    payload = {
        "memberId": member_id,
        "actionId": action_id,
        "outcome": outcome,
        "channel": channel,
        **extra,
    }
    result: dict[str, Any] = (await client.data(OUTCOME, {"input": payload}))["recordActionOutcome"]
    return result


async def test_actions_are_ranked_explained_and_stable(client: GraphQLClient) -> None:
    member = await enroll(client)
    await purchase(client, member["id"], "130.00")  # 130 points: 20 from a free coffee
    data = (await client.data(NBA, {"id": member["id"], "channel": "POS", "first": 20}))["member"]
    assert 0 <= data["churnRisk"] < 0.6
    assert any("since last purchase" in f for f in data["churnFactors"])
    actions = data["nextBestActions"]
    coffee = [a for a in actions if a["reward"] and a["reward"]["name"] == "Free coffee"]
    assert coffee[0]["kind"] == "SHOW_REWARD"
    assert coffee[0]["message"] == "20 points from a Free coffee."
    assert [a["score"] for a in actions] == sorted((a["score"] for a in actions), reverse=True)
    assert all(a["reasons"] and a["channel"] == "POS" for a in actions)
    again = await _actions(client, member["id"], "POS")
    assert [a["id"] for a in again] == [a["id"] for a in actions]
    app = await _actions(client, member["id"], "APP")
    assert not any(a["reward"] and a["reward"]["name"] == "Free coffee" for a in app)


async def test_dismissed_cools_down_and_converted_closes_everywhere(
    client: GraphQLClient,
) -> None:
    member = await enroll(client)
    await purchase(client, member["id"], "600.00")  # five-off and the tote bag are near
    web = await _actions(client, member["id"], "WEB")
    five = next(a for a in web if a["id"].endswith("SHOW_REWARD:five-off"))
    dismissed = await _outcome(client, member["id"], five["id"], "DISMISSED", "WEB")
    assert dismissed["userErrors"] == [] and dismissed["member"]["version"] == 3
    assert five["id"] not in [a["id"] for a in await _actions(client, member["id"], "WEB")]
    assert five["id"] in [a["id"] for a in await _actions(client, member["id"], "APP")]
    converted = await _outcome(client, member["id"], five["id"], "CONVERTED", "POS")
    assert converted["member"]["version"] == 4
    for channel in ("APP", "WEB", "POS", "KIOSK"):
        ids = [a["id"] for a in await _actions(client, member["id"], channel)]
        assert five["id"] not in ids


async def test_shown_counts_toward_the_cap_once_per_key(client: GraphQLClient) -> None:
    member = await enroll(client)
    first = (await _actions(client, member["id"], "KIOSK"))[0]
    key = uuid.uuid4().hex
    for _ in range(5):  # one key, one effect: the kiosk's cap of 4 a day is not reached
        shown = await _outcome(
            client, member["id"], first["id"], "SHOWN", "KIOSK", idempotencyKey=key
        )
        assert shown["userErrors"] == [] and shown["member"]["version"] == 1
    assert (await _actions(client, member["id"], "KIOSK"))[0]["kind"] != "SUPPRESS_MESSAGE"
    for _ in range(3):
        await _outcome(client, member["id"], first["id"], "SHOWN", "KIOSK")
    suppressed = await _actions(client, member["id"], "KIOSK")
    assert [a["kind"] for a in suppressed] == ["SUPPRESS_MESSAGE"]
    assert "cap of 4 a day on KIOSK" in suppressed[0]["reasons"][0]


async def test_a_bad_action_id_is_a_user_error(client: GraphQLClient) -> None:
    member = await enroll(client)
    other = await enroll(client)
    for action_id in ("nonsense", f"{other['id']}/WIN_BACK"):
        result = await _outcome(client, member["id"], action_id, "SHOWN", "APP")
        assert result["userErrors"][0]["code"] == "INVALID_INPUT"
        assert result["userErrors"][0]["field"] == ["input", "actionId"]


async def test_journeys_write_intents_with_consent_applied(
    client: GraphQLClient, settings: Settings
) -> None:
    opted = await enroll(client, consents={"email": True})
    silent = await enroll(client)
    await purchase(client, opted["id"], "600.00")  # tier upgrade + earn-to-redeem: cap of 1/day
    service = client.as_(token(settings, Role.SERVICE))
    rows = (await service.data(NOTIFICATIONS, {"member": opted["id"]}))["notifications"]
    assert [(r["journey"], r["channel"], r["status"]) for r in rows] == [
        ("WELCOME", "EMAIL", "PENDING"),  # one change's intents: in id order
        ("EARN_TO_REDEEM", "EMAIL", "SUPPRESSED"),
        ("TIER_UPGRADE", "EMAIL", "SUPPRESSED"),
    ]
    assert "cap of 1 a day on EMAIL" in rows[1]["reason"]
    later = await service.data(NOTIFICATIONS, {"member": opted["id"], "after": rows[0]["cursor"]})
    assert [r["id"] for r in later["notifications"]] == [r["id"] for r in rows[1:]]
    quiet = (await service.data(NOTIFICATIONS, {"member": silent["id"]}))["notifications"]
    assert [(r["journey"], r["channel"], r["status"]) for r in quiet] == [
        ("WELCOME", None, "SUPPRESSED")
    ]
    member_token = client.as_(token(settings, Role.MEMBER, member_id=opted["id"]))
    denied = await member_token.execute(NOTIFICATIONS, {"member": opted["id"]})
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_senders_hear_of_new_intents(
    client: GraphQLClient, server: InProcessServer, settings: Settings
) -> None:
    async def welcome_of(ws: Any, member_id: str) -> dict[str, Any]:
        while True:  # other tests may enrol at the same time
            got: dict[str, Any] = (await ws.next_data())["notificationCreated"]
            if got["memberId"] == member_id:
                return got

    async with transport_ws(server.ws_url, token(settings, Role.SERVICE)) as ws:
        await ws.subscribe("subscription { notificationCreated { memberId journey channel } }")
        heard = None
        for _ in range(30):  # until the subscription is live: the first enrolment heard
            member = await enroll(client, consents={"push": True})
            try:
                heard = await asyncio.wait_for(welcome_of(ws, member["id"]), 1.0)
                break
            except TimeoutError:
                continue
    assert heard == {"memberId": member["id"], "journey": "WELCOME", "channel": "PUSH"}


async def test_the_scheduled_job_sends_the_win_back(
    client: GraphQLClient, server: InProcessServer, settings: Settings
) -> None:
    member = await enroll(client, consents={"sms": True})
    await purchase(client, member["id"], "30.00")
    later = datetime.now(UTC) + timedelta(days=120)
    assert await server.app.state.jobs.run_member(member["id"], later) is False  # quiet
    service = client.as_(token(settings, Role.SERVICE))
    rows = (await service.data(NOTIFICATIONS, {"member": member["id"]}))["notifications"]
    assert [r["journey"] for r in rows] == ["WELCOME", "WIN_BACK"]
    assert rows[1]["channel"] == "SMS" and rows[1]["status"] == "PENDING"
    await server.app.state.jobs.run_member(member["id"], later + timedelta(days=1))
    again = (await service.data(NOTIFICATIONS, {"member": member["id"]}))["notifications"]
    assert len(again) == 2  # once per lapse


async def test_store_screens_see_check_ins_and_purchases_there(
    client: GraphQLClient, server: InProcessServer, settings: Settings
) -> None:
    member = await enroll(client)
    pos = token(settings, Role.POS, stores=["store-001"])

    async def check_in() -> None:
        visit = {
            "memberId": member["id"],
            "kind": "STORE_VISIT",
            "channel": "POS",
            "storeId": "store-001",
            "idempotencyKey": uuid.uuid4().hex,
        }
        result = (await client.data(ACTIVITY, {"input": visit}))["recordActivity"]
        # Recorded every time; only the first visit of the day earns (LIMIT_REACHED after).
        assert all(e["code"] == "LIMIT_REACHED" for e in result["userErrors"])
        assert result["member"]["version"] > 1

    async def next_of_member(ws: Any) -> tuple[str, str]:
        while True:
            event = (await ws.next_data())["storeActivity"]
            if event["member"]["id"] == member["id"]:
                assert event["storeId"] == "store-001"
                return event["kind"], event["member"]["tier"]["current"]["id"]

    async with transport_ws(server.ws_url, pos) as ws:
        await ws.subscribe(STORE, {"store": "store-001"})
        # Check in until the first one arrives: then the subscription is surely live.
        first: tuple[str, str] | None = None
        for _ in range(30):
            await check_in()
            try:
                first = await asyncio.wait_for(next_of_member(ws), 1.0)
                break
            except TimeoutError:
                continue
        assert first == ("ACTIVITY_RECORDED", "member")
        await purchase(client, member["id"], "600.00")
        seen = [await next_of_member(ws)]
        while seen[-1][0] == "ACTIVITY_RECORDED":  # late echoes of the probing check-ins
            seen = [await next_of_member(ws)]
        seen.append(await next_of_member(ws))
    assert seen == [("POINTS_EARNED", "silver"), ("TIER_CHANGED", "silver")]


async def test_a_till_watches_only_its_own_stores(
    server: InProcessServer, settings: Settings
) -> None:
    pos = token(settings, Role.POS, stores=["store-001"])
    async with transport_ws(server.ws_url, pos) as ws:
        await ws.subscribe(STORE, {"store": "store-999"})
        message = await ws.receive()
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_dismissal_is_pushed_and_a_show_is_not(
    client: GraphQLClient, server: InProcessServer, admin_token: str
) -> None:
    member = await enroll(client)
    action = (await _actions(client, member["id"], "APP"))[0]
    watch = """subscription($id: ID!) {
      memberUpdated(memberId: $id, sinceVersion: 1) { version changes } }"""
    async with transport_ws(server.ws_url, admin_token) as ws:
        await ws.subscribe(watch, {"id": member["id"]})
        shown = await _outcome(client, member["id"], action["id"], "SHOWN", "APP")
        assert shown["member"]["version"] == 1  # counters only: no new version
        await _outcome(client, member["id"], action["id"], "DISMISSED", "APP")
        update = (await ws.next_data())["memberUpdated"]
    assert update == {"version": 2, "changes": ["ACTION_RECORDED"]}
