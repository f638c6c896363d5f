"""Abuse limits: per-token rate limit in Redis, request body size, and the production switches
that turn introspection and GraphiQL off."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import httpx

from resolvers.access import Role
from schema.limits import MAX_SUBSCRIPTIONS_PER_CONNECTION
from settings import Settings
from tests.support.client import GraphQLClient, token, transport_ws
from tests.support.operations import enroll, purchase
from tests.support.servers import InProcessServer, in_process

PROGRAM = {"query": "{ program { name } }"}


async def test_a_token_over_its_rate_limit_is_told_when_to_retry(
    settings: Settings, mongo_uri: str, http: httpx.AsyncClient
) -> None:
    limited = settings.model_copy(update={"rate_limit_per_minute": 3})
    async with in_process(limited, mongo_uri) as server:
        one = token(limited, Role.AGENT, subject=f"busy-{uuid.uuid4().hex[:8]}")
        other = token(limited, Role.AGENT, subject=f"calm-{uuid.uuid4().hex[:8]}")

        async def ask(bearer: str) -> httpx.Response:
            return await http.post(
                f"{server.url}/graphql", json=PROGRAM, headers={"authorization": f"Bearer {bearer}"}
            )

        answers = [await ask(one) for _ in range(5)]
        calm = await ask(other)
    served = [a for a in answers if "errors" not in a.json()]
    refused = [a for a in answers if "errors" in a.json()]
    # A window may turn over between two calls: then fewer are refused, never more.
    assert len(served) >= 3 and len(served) + len(refused) == 5
    if len(served) == 3:
        assert len(refused) == 2
    for answer in refused:
        error = answer.json()["errors"][0]
        assert answer.json()["data"] is None
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert 1 <= error["extensions"]["retryAfter"] <= 60
        assert answer.headers["retry-after"] == str(error["extensions"]["retryAfter"])
    assert "errors" not in calm.json()  # the limit is the token's own


async def test_a_body_over_the_limit_is_refused_with_413(
    settings: Settings, mongo_uri: str, http: httpx.AsyncClient
) -> None:
    small = settings.model_copy(update={"max_body_bytes": 2048})
    async with in_process(small, mongo_uri) as server:
        bearer = token(small, Role.ADMIN)
        headers = {"authorization": f"Bearer {bearer}"}
        padded = {"query": "{ program { name } }", "variables": {"pad": "x" * 4000}}
        announced = await http.post(f"{server.url}/graphql", json=padded, headers=headers)

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(5):
                yield b" " * 1000  # streamed, no Content-Length: counted as it arrives

        streamed = await http.post(
            f"{server.url}/graphql",
            content=chunks(),
            headers={**headers, "content-type": "application/json"},
        )
        fine = await http.post(f"{server.url}/graphql", json=PROGRAM, headers=headers)
    assert announced.status_code == 413
    assert announced.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert streamed.status_code == 413
    assert fine.status_code == 200 and fine.json()["data"]["program"]["name"]


async def test_production_turns_introspection_and_graphiql_off(
    settings: Settings, mongo_uri: str, http: httpx.AsyncClient
) -> None:
    production = settings.model_copy(update={"introspection": False, "graphiql": False})
    async with in_process(production, mongo_uri) as server:
        headers = {"authorization": f"Bearer {token(production, Role.ADMIN)}"}
        schema = await http.post(
            f"{server.url}/graphql",
            json={"query": "{ __schema { queryType { name } } }"},
            headers=headers,
        )
        typename = await http.post(
            f"{server.url}/graphql",
            json={"query": '{ __type(name: "Member") { name } }'},
            headers=headers,
        )
        page = await http.get(f"{server.url}/graphiql")
        pos = await http.get(f"{server.url}/pos")
        works = await http.post(f"{server.url}/graphql", json=PROGRAM, headers=headers)
    assert schema.json()["data"] is None
    assert "introspection has been disabled" in schema.json()["errors"][0]["message"]
    assert typename.json()["errors"]
    assert page.status_code == 404
    assert pos.status_code == 200
    assert works.json()["data"]["program"]["name"]


async def test_one_connection_holds_at_most_fifty_subscriptions(
    client: GraphQLClient, server: InProcessServer, settings: Settings
) -> None:
    member = await enroll(client)
    query = "subscription($id: ID!) { memberUpdated(memberId: $id) { version } }"
    async with transport_ws(server.ws_url, token(settings, Role.ADMIN)) as ws:
        ids = [
            await ws.subscribe(query, {"id": member["id"]})
            for _ in range(MAX_SUBSCRIPTIONS_PER_CONNECTION + 1)
        ]
        # The subscriptions start concurrently: whichever comes last is the one refused.
        message = await ws.receive()
        assert message["id"] in ids and message["type"] == "error", message
        assert message["payload"][0]["extensions"]["code"] == "BAD_REQUEST"
        ids.remove(message["id"])
        # One ended frees a place.
        await ws.ws.send(json.dumps({"id": ids[0], "type": "complete"}))
        await asyncio.sleep(0.2)
        again = await ws.subscribe(query, {"id": member["id"]})
        await purchase(client, member["id"], "5.00")
        seen: set[str] = set()
        while again not in seen:
            message = await ws.receive()
            assert message["type"] == "next", message
            seen.add(message["id"])


async def test_a_list_of_lists_is_priced_by_what_it_can_return(client: GraphQLClient) -> None:
    member = await enroll(client)
    nested = (
        "query($id: ID!, $n: Int!) { duplicateCandidates(memberId: $id, first: $n) { member { "
        "activity(first: 100) { edges { node { id points kind description } } } } } }"
    )
    refused = await client.execute(nested, {"id": member["id"], "n": 50})
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "query cost" in refused["errors"][0]["message"]
    served = await client.execute(nested, {"id": member["id"], "n": 2})
    assert "errors" not in served and served["data"]["duplicateCandidates"] == []
