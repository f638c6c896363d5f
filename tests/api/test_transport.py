"""Mobile-friendly transport: persisted queries by hash, revalidated GET reads, gzip, batching."""

from __future__ import annotations

import hashlib
import json

import httpx

from tests.support.client import GraphQLClient
from tests.support.operations import enroll, purchase
from tests.support.servers import InProcessServer

READ = "query TransportRead($id: ID!) { member(id: $id) { id version balance { available } } }"


def persisted(query: str) -> dict[str, object]:
    digest = hashlib.sha256(query.encode()).hexdigest()
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


def auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_a_persisted_query_is_sent_once_then_by_hash_over_post_and_get(
    server: InProcessServer, http: httpx.AsyncClient, client: GraphQLClient, admin_token: str
) -> None:
    member = await enroll(client)
    query = READ + f"  # {member['id']}"  # a query text no other test registered
    by_hash = {"variables": {"id": member["id"]}, "extensions": persisted(query)}
    url = f"{server.url}/graphql"

    unknown = await http.post(url, json=by_hash, headers=auth(admin_token))
    assert unknown.status_code == 200
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    registered = await http.post(url, json={**by_hash, "query": query}, headers=auth(admin_token))
    assert registered.json()["data"]["member"]["id"] == member["id"]

    again = await http.post(url, json=by_hash, headers=auth(admin_token))
    assert again.json()["data"]["member"]["id"] == member["id"]

    params = {
        "variables": json.dumps(by_hash["variables"]),
        "extensions": json.dumps(by_hash["extensions"]),
    }
    over_get = await http.get(url, params=params, headers=auth(admin_token))
    assert over_get.json()["data"]["member"]["id"] == member["id"]
    assert "query" not in str(over_get.request.url)


async def test_a_query_that_does_not_match_its_hash_is_refused(
    server: InProcessServer, http: httpx.AsyncClient, admin_token: str
) -> None:
    body = {"query": "{ program { name } }", "extensions": persisted("{ something { else } }")}
    response = await http.post(f"{server.url}/graphql", json=body, headers=auth(admin_token))
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"


async def test_a_get_read_revalidates_with_its_etag_until_the_member_changes(
    server: InProcessServer, http: httpx.AsyncClient, client: GraphQLClient, admin_token: str
) -> None:
    member = await enroll(client)
    params = {"query": READ, "variables": json.dumps({"id": member["id"]})}
    url = f"{server.url}/graphql"
    first = await http.get(url, params=params, headers=auth(admin_token))
    assert first.status_code == 200
    assert first.headers["cache-control"] == "private, no-cache"
    assert "Authorization" in first.headers["vary"]
    tag = first.headers["etag"]

    same = await http.get(url, params=params, headers={**auth(admin_token), "if-none-match": tag})
    assert same.status_code == 304 and same.content == b""

    await purchase(client, member["id"], "5.00")
    changed = await http.get(
        url, params=params, headers={**auth(admin_token), "if-none-match": tag}
    )
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    assert changed.json()["data"]["member"]["balance"]["available"] == 5


async def test_mutations_are_not_accepted_over_get(
    server: InProcessServer, http: httpx.AsyncClient, admin_token: str
) -> None:
    mutation = 'mutation { updateProfile(input: {memberId: "x"}) { userErrors { code } } }'
    response = await http.get(
        f"{server.url}/graphql", params={"query": mutation}, headers=auth(admin_token)
    )
    assert response.status_code in (400, 405)


async def test_large_answers_and_assets_are_gzipped(
    server: InProcessServer, http: httpx.AsyncClient, admin_token: str
) -> None:
    introspection = "{ __schema { types { name description fields { name description } } } }"
    response = await http.post(
        f"{server.url}/graphql",
        json={"query": introspection},
        headers={**auth(admin_token), "accept-encoding": "gzip"},
    )
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.json()["data"]["__schema"]["types"]
    asset = await http.get(
        f"{server.url}/assets/graphiql.min.js", headers={"accept-encoding": "gzip"}
    )
    assert asset.headers["content-encoding"] == "gzip"


async def test_a_batch_of_operations_is_answered_in_order(
    server: InProcessServer, http: httpx.AsyncClient, client: GraphQLClient, admin_token: str
) -> None:
    member = await enroll(client)
    batch = [
        {"query": READ, "variables": {"id": member["id"]}},
        {"query": "query Name { program { name } }"},
    ]
    response = await http.post(f"{server.url}/graphql", json=batch, headers=auth(admin_token))
    assert response.status_code == 200
    first, second = response.json()
    assert first["data"]["member"]["id"] == member["id"]
    assert second["data"]["program"]["name"]
    too_many = await http.post(f"{server.url}/graphql", json=batch * 6, headers=auth(admin_token))
    assert too_many.status_code == 400
