"""Hostile queries and values, at random: never a 500, never an internal error, never a changed
balance."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from resolvers.access import Role
from settings import Settings
from tests.support.client import GraphQLClient, token
from tests.support.operations import enroll, purchase
from tests.support.servers import InProcessServer

INJECTIONS = [
    {"$gt": ""},
    {"$where": "sleep(1000)"},
    {"$ne": None},
    "'; DROP TABLE members; --",
    '{"$gt": ""}',
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "${jndi:ldap://x/a}",
    "\x00\x01\x02",
    "mbr_" + "0" * 10_000,
    "🙂" * 2000,
    "e" * 200_000,
    "KIND:jo@example.com",
    "EMAIL:jo@example.com",
]
values: st.SearchStrategy[Any] = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=300),
        st.sampled_from(INJECTIONS),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=8,
)

WRITES = {
    "recordPurchase": ["memberId", "amount", "currencyCode", "channel", "orderId",
                       "idempotencyKey", "storeId"],
    "redeemReward": ["memberId", "rewardId", "channel", "idempotencyKey", "storeId"],
    "adjustPoints": ["memberId", "points", "reason", "idempotencyKey"],
    "recordActivity": ["memberId", "kind", "channel", "idempotencyKey", "attributes"],
    "linkIdentifier": ["memberId", "identifier"],
    "updateProfile": ["memberId", "firstName", "birthday", "consents"],
}  # fmt: skip

texts = st.one_of(
    st.text(max_size=500),
    st.integers(1, 3000).map(lambda n: "{ member(id: \"x\") " + "{ profile " * n + "}" * n),
    st.integers(1, 2000).map(lambda n: "{ " + " ".join(f"a{i}: program {{ name }}" for i in range(n)) + " }"),  # noqa: E501
    st.integers(1, 5000).map(lambda n: "query { " + "__typename " * n + "}"),
    st.sampled_from(["", "{", "}", "query", "subscription { memberUpdated }", "mutation { }",
                     "{ __schema { types { name fields { name } } } }", "null", "[]"]),
)  # fmt: skip


@st.composite
def requests(draw: st.DrawFn, member_id: str) -> Any:
    kind = draw(st.sampled_from(["write", "read", "text", "raw"]))
    if kind == "write":
        operation = draw(st.sampled_from(sorted(WRITES)))
        fields = WRITES[operation]
        given_input = {
            f: draw(st.one_of(values, st.just(member_id))) for f in fields if draw(st.booleans())
        }
        input_type = operation[0].upper() + operation[1:] + "Input"
        query = (
            f"mutation($i: {input_type}!) {{ {operation}(input: $i) {{ userErrors {{ code }} }} }}"
        )
        return {"query": query, "variables": {"i": given_input}}
    if kind == "read":
        return {
            "query": "query($k: IdentifierKind!, $v: String!, $id: ID!) { "
            "memberByIdentifier(kind: $k, value: $v) { id } member(id: $id) { id } "
            "node(id: $id) { id } }",
            "variables": {"k": draw(values), "v": draw(values), "id": draw(values)},
        }
    if kind == "text":
        return {"query": draw(texts), "variables": draw(values)}
    return draw(st.one_of(values, st.binary(max_size=300)))


async def balance(client: GraphQLClient, member_id: str) -> dict[str, Any]:
    data = await client.data(
        "query($id: ID!) { member(id: $id) { version balance { available pending lifetime } } }",
        {"id": member_id},
    )
    found: dict[str, Any] = data["member"]
    return found


# Hypothesis draws in a thread while this loop serves the in-process server, whose database
# driver takes each command's request id from the process-wide `random` (pymongo's
# message._randint): Hypothesis sees that state move during a draw and warns, harmlessly.
@pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies"
    ":hypothesis.errors.HypothesisDeprecationWarning"
)
async def test_hostile_requests_never_fail_the_server_nor_move_points(
    client: GraphQLClient, server: InProcessServer, http: httpx.AsyncClient, settings: Settings
) -> None:
    member = await enroll(client)
    await purchase(client, member["id"], "25.00")
    before = await balance(client, member["id"])
    other = await enroll(client)
    # Tokens that may not move this member's points: another member's, a till of another store.
    bearers = [
        token(settings, Role.MEMBER, member_id=other["id"]),
        token(settings, Role.POS, stores=["store-elsewhere"]),
        token(settings, Role.KIOSK, stores=["store-elsewhere"]),
        None,
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4Iiwicm9sZSI6IkFETUlOIn0.",
    ]

    @examples(
        max_examples=120,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        derandomize=True,
    )
    @given(body=requests(member["id"]), bearer=st.sampled_from(bearers))
    def hostile(body: Any, bearer: str | None) -> None:
        headers = {"authorization": f"Bearer {bearer}"} if bearer else {}
        content = body if isinstance(body, bytes) else json.dumps(body, default=str).encode()
        response = sync.post(
            f"{server.url}/graphql",
            content=content,
            headers={**headers, "content-type": "application/json"},
        )
        assert response.status_code < 500, response.text[:500]
        if response.headers.get("content-type", "").startswith("application/json"):
            answer = response.json()
            errors = answer.get("errors") or [] if isinstance(answer, dict) else []
            assert not any(e.get("message") == "Internal error" for e in errors), errors

    # Hypothesis drives a plain function: it runs in a thread with a blocking client while
    # this loop keeps serving the in-process server.
    with httpx.Client(timeout=30) as sync:
        await asyncio.to_thread(hostile)
    assert await balance(client, member["id"]) == before
