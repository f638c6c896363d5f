"""An agent adjusts points up to the program's agent_adjustment_limit; an admin beyond it."""

from __future__ import annotations

import uuid
from typing import Any

from resolvers.access import Role
from settings import Settings
from tests.support.client import GraphQLClient, token
from tests.support.operations import enroll

ADJUST = """
mutation($i: AdjustPointsInput!) { adjustPoints(input: $i) {
  member { balance { available } } userErrors { code field } } }"""


async def adjust(client: GraphQLClient, member_id: str, points: int) -> dict[str, Any]:
    variables = {
        "i": {"memberId": member_id, "points": points, "reason": "goodwill",
              "idempotencyKey": uuid.uuid4().hex}
    }  # fmt: skip
    result: dict[str, Any] = (await client.data(ADJUST, variables))["adjustPoints"]
    return result


async def test_an_agent_adjusts_up_to_the_limit_and_an_admin_beyond(
    client: GraphQLClient, settings: Settings
) -> None:
    member = await enroll(client)
    agent = client.as_(token(settings, Role.AGENT))
    assert (await adjust(agent, member["id"], 500))["userErrors"] == []
    over = await adjust(agent, member["id"], 501)
    assert over["userErrors"] == [{"code": "FORBIDDEN", "field": ["input", "points"]}]
    assert (await adjust(agent, member["id"], -501))["userErrors"][0]["code"] == "FORBIDDEN"
    done = await adjust(client, member["id"], 2000)  # the admin
    assert done["userErrors"] == []
    assert done["member"] == {"balance": {"available": 2500}}
