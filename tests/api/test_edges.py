"""What the edge of the service promises: auth, error shapes, masking, health, readiness."""

from __future__ import annotations

import logging

import httpx
import pytest

from resolvers.access import Role
from resolvers.pending import PENDING
from settings import Settings
from tests.support.client import GraphQLClient, token
from tests.support.operations import enroll, purchase
from tests.support.servers import InProcessServer, free_port, in_process


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc", "Bearer"])
async def test_no_valid_token_means_unauthenticated_and_no_data(
    server: InProcessServer, http: httpx.AsyncClient, header: str | None
) -> None:
    headers = {"authorization": header} if header else {}
    response = await http.post(
        f"{server.url}/graphql", json={"query": "{ program { name } }"}, headers=headers
    )
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def test_introspection_needs_no_token_so_graphiql_can_show_the_docs(
    server: InProcessServer, http: httpx.AsyncClient
) -> None:
    response = await http.post(
        f"{server.url}/graphql", json={"query": "{ __schema { queryType { name } } }"}
    )
    assert response.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


async def test_a_member_token_reads_itself_and_nobody_else(
    client: GraphQLClient, settings: Settings
) -> None:
    mine = await enroll(client)
    other = await enroll(client)
    as_member = client.as_(token(settings, Role.MEMBER, member_id=mine["id"]))
    viewer = await as_member.data("{ viewer { id } }")
    assert viewer == {"viewer": {"id": mine["id"]}}
    refused = await as_member.execute(
        "query($id: ID!) { member(id: $id) { id } }", {"id": other["id"]}
    )
    assert refused["data"] == {"member": None}
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    bought = await as_member.execute(
        "mutation($i: RecordPurchaseInput!) { recordPurchase(input: $i) { userErrors { code } } }",
        {
            "i": {
                "memberId": mine["id"],
                "amount": "1.00",
                "currencyCode": "EUR",
                "channel": "APP",
                "orderId": "x",
                "idempotencyKey": "k",
            }
        },
    )
    assert bought["data"]["recordPurchase"]["userErrors"] == [{"code": "FORBIDDEN"}]


async def test_a_till_records_purchases_only_at_its_own_stores(
    client: GraphQLClient, settings: Settings
) -> None:
    member = await enroll(client)
    till = client.as_(token(settings, Role.POS, stores=["store-001"]))
    ok = await purchase(till, member["id"], "2.00")
    assert ok["userErrors"] == []
    elsewhere = await purchase(till, member["id"], "2.00", storeId="store-999")
    assert [e["code"] for e in elsewhere["userErrors"]] == ["FORBIDDEN"]
    no_store = await purchase(till, member["id"], "2.00", storeId=None)
    assert no_store["userErrors"] == [], "a till with one store acts there by default"


async def test_malformed_requests_get_graphql_errors_never_a_500(
    server: InProcessServer, http: httpx.AsyncClient, admin_token: str
) -> None:
    headers = {"authorization": f"Bearer {admin_token}"}
    syntax = await http.post(
        f"{server.url}/graphql", json={"query": "{ program { "}, headers=headers
    )
    assert syntax.status_code in (200, 400)
    assert "Syntax Error" in syntax.json()["errors"][0]["message"]
    unknown = await http.post(f"{server.url}/graphql", json={"query": "{ nope }"}, headers=headers)
    assert unknown.status_code in (200, 400)
    assert "nope" in unknown.json()["errors"][0]["message"]
    not_json = await http.post(
        f"{server.url}/graphql",
        content=b"{not json",
        headers={**headers, "content-type": "application/json"},
    )
    assert not_json.status_code == 400
    deep = "{ program { tiers { " + "name " + "} } }"
    assert (
        await http.post(f"{server.url}/graphql", json={"query": deep}, headers=headers)
    ).status_code == 200


async def test_an_internal_fault_is_masked_for_the_client_and_logged_with_the_request_id(
    client: GraphQLClient,
    server: InProcessServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    member = await enroll(client)

    async def broken(ids: object) -> object:
        raise RuntimeError("driver says: connection string mongodb://secret@db")

    monkeypatch.setattr(server.services.reads, "members", broken)
    with caplog.at_level(logging.ERROR, logger="graphql"):
        response = await client.http.post(
            f"{server.url}/graphql",
            json={
                "query": "query($id: ID!) { member(id: $id) { id } }",
                "variables": {"id": member["id"]},
            },
            headers={"authorization": f"Bearer {client.bearer}", "x-request-id": "req-fault-1"},
        )
    body = response.json()
    assert response.status_code == 200
    assert body["errors"][0]["message"] == "Internal error"
    assert "secret" not in response.text and "Traceback" not in response.text
    assert response.headers["x-request-id"] == "req-fault-1"
    faults = [r for r in caplog.records if r.getMessage() == "graphql.fault"]
    assert faults and getattr(faults[0], "request_id", None) == "req-fault-1"


async def test_every_part_of_the_contract_is_implemented(client: GraphQLClient) -> None:
    member = await enroll(client)
    body = await client.execute(
        "query($id: ID!) { member(id: $id) { id churnRisk } }", {"id": member["id"]}
    )
    assert "errors" not in body
    assert 0.0 <= body["data"]["member"]["churnRisk"] <= 1.0
    assert PENDING == {}


async def test_health_and_readiness(server: InProcessServer, http: httpx.AsyncClient) -> None:
    assert (await http.get(f"{server.url}/healthz")).json() == {"status": "ok"}
    ready = await http.get(f"{server.url}/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


async def test_readiness_says_what_is_down(
    settings: Settings, mongo_uri: str, http: httpx.AsyncClient
) -> None:
    dead_redis = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    async with in_process(dead_redis, mongo_uri) as server:
        ready = await http.get(f"{server.url}/readyz")
        alive = await http.get(f"{server.url}/healthz")
    assert ready.status_code == 503
    assert set(ready.json()["problems"]) == {"bus"}
    assert alive.status_code == 200


async def test_a_subscription_over_http_is_a_clear_bad_request(client: GraphQLClient) -> None:
    response = await client.post(
        'subscription { memberUpdated(memberId: "mbr_000000000000000000000000") { version } }'
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "WebSocket" in body["errors"][0]["message"]
