"""Reads: lookups by id and identifier, the node interface, paging, eligibility, program."""

from __future__ import annotations

from tests.support.client import GraphQLClient
from tests.support.operations import enroll, purchase, unique_email

PAGE = """
query($id: ID!, $first: Int, $after: String) {
  member(id: $id) {
    activity(first: $first, after: $after) {
      edges { cursor node { id points description } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""


async def test_member_by_identifier_normalises_the_value_first(client: GraphQLClient) -> None:
    email = unique_email()
    member = await enroll(
        client,
        identifiers=[
            {"kind": "EMAIL", "value": email},
            {"kind": "PHONE", "value": "+31 6 11122233"},
        ],
    )
    query = (
        "query($k: IdentifierKind!, $v: String!) { memberByIdentifier(kind: $k, value: $v) { id } }"
    )
    for kind, value in [
        ("EMAIL", email.upper()),
        ("PHONE", "06-11122233"),
        ("PHONE", "0031611122233"),
    ]:
        found = await client.data(query, {"k": kind, "v": value})
        assert found["memberByIdentifier"] == {"id": member["id"]}, (kind, value)
    for kind, value in [("EMAIL", "nobody@example.com"), ("PHONE", "not a phone")]:
        assert (await client.data(query, {"k": kind, "v": value}))["memberByIdentifier"] is None


async def test_unknown_and_malformed_ids_read_as_null(client: GraphQLClient) -> None:
    query = "query($id: ID!) { member(id: $id) { id } node(id: $id) { id } }"
    for bad in ["mbr_000000000000000000000000", "nonsense", "", "led_zz", "rwd_NOPE"]:
        assert await client.data(query, {"id": bad}) == {"member": None, "node": None}


async def test_node_resolves_every_kind_of_object(client: GraphQLClient) -> None:
    member = await enroll(client)
    bought = await purchase(client, member["id"], "3.00")
    query = """query($id: ID!) { node(id: $id) { __typename id
      ... on Reward { name cost } ... on LedgerEntry { points } ... on Member { version } } }"""
    as_member = (await client.data(query, {"id": member["id"]}))["node"]
    assert as_member == {"__typename": "Member", "id": member["id"], "version": 2}
    entry_id = bought["entry"]["id"]
    assert (await client.data(query, {"id": entry_id}))["node"] == {
        "__typename": "LedgerEntry",
        "id": entry_id,
        "points": 3,
    }
    reward = (await client.data(query, {"id": "rwd_free-coffee"}))["node"]
    assert reward == {
        "__typename": "Reward",
        "id": "rwd_free-coffee",
        "name": "Free coffee",
        "cost": 150,
    }


async def test_activity_pages_newest_first_with_stable_cursors(client: GraphQLClient) -> None:
    member = await enroll(client)
    for amount in ["1.00", "2.00", "3.00", "4.00", "5.00"]:
        await purchase(client, member["id"], amount)
    first = (await client.data(PAGE, {"id": member["id"], "first": 2}))["member"]["activity"]
    assert [e["node"]["points"] for e in first["edges"]] == [5, 4]
    assert first["pageInfo"]["hasNextPage"] is True
    # an entry added meanwhile does not shift the next page
    await purchase(client, member["id"], "6.00")
    second = (
        await client.data(
            PAGE, {"id": member["id"], "first": 2, "after": first["pageInfo"]["endCursor"]}
        )
    )["member"]["activity"]
    assert [e["node"]["points"] for e in second["edges"]] == [3, 2]
    last = (
        await client.data(
            PAGE, {"id": member["id"], "first": 2, "after": second["pageInfo"]["endCursor"]}
        )
    )["member"]["activity"]
    assert [e["node"]["points"] for e in last["edges"]] == [1]
    assert last["pageInfo"] == {"hasNextPage": False, "endCursor": last["edges"][0]["cursor"]}


async def test_activity_refuses_more_than_a_hundred_and_bad_cursors(client: GraphQLClient) -> None:
    member = await enroll(client)
    too_many = await client.execute(PAGE, {"id": member["id"], "first": 101})
    assert too_many["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    bad_cursor = await client.execute(PAGE, {"id": member["id"], "first": 1, "after": "%%%"})
    assert bad_cursor["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_eligible_rewards_follow_channel_tier_and_points(client: GraphQLClient) -> None:
    member = await enroll(client)
    query = """query($id: ID!) { member(id: $id) {
      pos: eligibleRewards(channel: POS) { id } app: eligibleRewards(channel: APP) { id }
      any: eligibleRewards { id } } }"""
    none = (await client.data(query, {"id": member["id"]}))["member"]
    assert none == {"pos": [], "app": [], "any": []}
    await purchase(client, member["id"], "560.00")
    some = (await client.data(query, {"id": member["id"]}))["member"]
    assert [r["id"] for r in some["pos"]] == ["rwd_free-coffee", "rwd_five-off"]
    assert [r["id"] for r in some["app"]] == ["rwd_five-off"]
    assert [r["id"] for r in some["any"]] == ["rwd_free-coffee", "rwd_five-off"]


async def test_program_exposes_tiers_and_catalogue(client: GraphQLClient) -> None:
    program = (
        await client.data(
            """{ program { name earnRate returnWindowDays pointValue { amount currencyCode }
                tiers { id threshold earnMultiplier }
                rewards { id cost channels minimumTier { id } } } }"""
        )
    )["program"]
    assert program["pointValue"] == {"amount": "0.01", "currencyCode": "EUR"}
    assert [(t["id"], t["threshold"], t["earnMultiplier"]) for t in program["tiers"]] == [
        ("member", 0, 1.0),
        ("silver", 500, 1.25),
        ("gold", 2000, 1.5),
    ]
    assert len({r["cost"] for r in program["rewards"]}) >= 4
    assert any(r["minimumTier"] == {"id": "gold"} for r in program["rewards"])
    assert any(r["channels"] == ["POS", "KIOSK"] for r in program["rewards"])


async def test_tier_status_reports_progress_and_points_to_next(client: GraphQLClient) -> None:
    member = await enroll(client)
    await purchase(client, member["id"], "1250.00")
    query = """query($id: ID!) { member(id: $id) { tier { current { id } next { id }
      qualifyingPoints pointsToNext progress } balance { value { amount } } } }"""
    status = (await client.data(query, {"id": member["id"]}))["member"]
    assert status["tier"] == {
        "current": {"id": "silver"},
        "next": {"id": "gold"},
        "qualifyingPoints": 1250,
        "pointsToNext": 750,
        "progress": 0.5,
    }
    assert status["balance"]["value"]["amount"] == "12.50"
