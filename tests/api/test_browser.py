"""GraphiQL and the POS screen in a real headless Chromium, against the API on real sockets.

Skipped (and said so in the summary) where chromium and chromium-driver are not installed;
`.ci/run` installs them, so CI always runs these.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import quote

import pytest
from prometheus_client import REGISTRY

from api.web import ASSETS_INSTALLED
from resolvers.access import Role
from schema.build import build_schema
from settings import Settings
from tests.support.browser import Page, chromium, chromium_paths
from tests.support.client import GraphQLClient, token
from tests.support.operations import enroll, purchase
from tests.support.servers import InProcessServer

pytestmark = [
    pytest.mark.skipif(
        chromium_paths() is None,
        reason="browser tests: chromium and chromium-driver are not installed "
        "(.ci/run installs them)",
    ),
    pytest.mark.skipif(
        not ASSETS_INSTALLED,
        reason="browser tests: the browser assets are not installed (npm missing: make install)",
    ),
]


@pytest.fixture(scope="module")
def driver() -> Iterator[object]:
    with chromium() as running:
        yield running


@pytest.fixture
async def page(driver: object) -> AsyncIterator[Page]:
    page = Page(driver)  # type: ignore[arg-type]
    yield page
    await page.open("about:blank")


def open_subscriptions() -> float:
    return REGISTRY.get_sample_value("subscriptions_open") or 0.0


async def until_subscribed(before: float, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while open_subscriptions() <= before:
        assert time.monotonic() < deadline, "the page never subscribed"
        await asyncio.sleep(0.02)


async def test_graphiql_runs_a_query_with_the_token_from_the_headers_pane(
    page: Page, server: InProcessServer, client: GraphQLClient, admin_token: str
) -> None:
    member = await enroll(client, firstName="Querida")
    query = f'{{ member(id: "{member["id"]}") {{ id profile {{ firstName }} }} }}'
    await page.open(f"{server.url}/graphiql?query={quote(query)}#token={admin_token}")
    headers = await page.wait_text(".graphiql-editor-tool", "Authorization")
    assert admin_token[:20] in headers  # the token landed in the editable headers pane
    await page.click(".graphiql-execute-button")
    result = await page.wait_text(".graphiql-response", "Querida")
    assert member["id"] in result
    assert await page.severe_console_messages() == []


async def test_graphiql_without_a_token_shows_the_unauthenticated_error(
    page: Page, server: InProcessServer
) -> None:
    await page.open(f"{server.url}/graphiql?query={quote('{ program { name } }')}")
    await page.click(".graphiql-execute-button")
    assert "UNAUTHENTICATED" in await page.wait_text(".graphiql-response", "UNAUTHENTICATED")


async def test_graphiql_runs_a_subscription_over_graphql_ws(
    page: Page, server: InProcessServer, client: GraphQLClient, admin_token: str
) -> None:
    member = await enroll(client)
    subscription = (
        f'subscription {{ memberUpdated(memberId: "{member["id"]}") '
        "{ version changes entry { points } member { balance { available } } } }"
    )
    await page.open(f"{server.url}/graphiql?query={quote(subscription)}#token={admin_token}")
    before = open_subscriptions()
    await page.click(".graphiql-execute-button")
    await until_subscribed(before)
    result = await purchase(client, member["id"], "37.00")
    assert result["userErrors"] == []
    shown = await page.wait_text(".graphiql-response", "POINTS_EARNED")
    assert '"points": 37' in shown


async def test_graphiql_docs_explorer_shows_the_descriptions(
    page: Page, server: InProcessServer, admin_token: str
) -> None:
    await page.open(f"{server.url}/graphiql#token={admin_token}")
    await page.click('button[aria-label="Show Documentation Explorer"]')
    await page.wait_text(".graphiql-doc-explorer", "Query")
    await page.click(".graphiql-doc-explorer a.graphiql-doc-explorer-type-name")
    # The descriptions the schema serves are on the page, not only the names.
    served = build_schema()._schema
    assert served.query_type is not None
    for field in ("memberByIdentifier", "program"):
        description = served.query_type.fields[field].description
        assert description
        await page.wait_text(".graphiql-doc-explorer", description)


async def pos_page(page: Page, server: InProcessServer, settings: Settings) -> None:
    pos_token = token(settings, Role.POS, stores=["store-001"])
    await page.open(f"{server.url}/pos#token={pos_token}")
    lookup = await page.element("#lookup")
    assert await page.call(lookup.is_displayed)
    # The token came in the fragment: the paste form stays out of the cashier's way.
    token_form = await page.element("#token-form")
    assert not await page.call(token_form.is_displayed)


async def test_pos_shows_the_member_and_a_purchase_within_one_second(
    page: Page, server: InProcessServer, client: GraphQLClient, settings: Settings
) -> None:
    card = str(4_100_000_000_000 + uuid.uuid4().int % 10**9)
    member = await enroll(
        client,
        firstName="Tilly",
        identifiers=[{"kind": "LOYALTY_CARD", "value": card}],
        channel="POS",
    )
    await purchase(client, member["id"], "160.00")
    await pos_page(page, server, settings)
    before = open_subscriptions()
    await page.script(
        "document.getElementById('lookup').value = arguments[0];"
        "document.getElementById('lookup-form').requestSubmit();",
        card,
    )
    assert "Tilly" in await page.wait_text("#name", "Tilly")
    assert await page.text("#balance") == "160"
    assert "Free coffee" in await page.text("#rewards")  # 150 points, redeemable at the till
    assert "points to Silver" in await page.text("#to-next")
    await until_subscribed(before)

    started = time.monotonic()
    await purchase(client, member["id"], "25.00")
    await page.wait_text("#balance", "185", timeout=1.0)
    shown_after = time.monotonic() - started
    assert shown_after < 1.0
    assert "POINTS_EARNED" in await page.text("#last-change")


async def test_pos_finds_a_member_by_phone(
    page: Page, server: InProcessServer, client: GraphQLClient, settings: Settings
) -> None:
    phone = f"+3161{uuid.uuid4().int % 10**7:07d}"
    await enroll(client, firstName="Phoebe", identifiers=[{"kind": "PHONE", "value": phone}])
    await pos_page(page, server, settings)
    await page.script(
        "document.getElementById('lookup').value = arguments[0];"
        "document.getElementById('lookup-form').requestSubmit();",
        phone,
    )
    assert "Phoebe" in await page.wait_text("#name", "Phoebe")


async def test_pos_flags_a_gold_member_on_a_store_event_and_not_others(
    page: Page, server: InProcessServer, client: GraphQLClient, settings: Settings
) -> None:
    """storeActivity carries check-ins and purchases at the till's store: a Gold member who
    checks in there is announced, a Silver member's purchase there is not."""
    gold = await enroll(client, firstName="Sam")
    await purchase(client, gold["id"], "2000.00", storeId="store-002")  # Gold, elsewhere
    feeds = REGISTRY.get_sample_value("store_activity_open") or 0.0
    await pos_page(page, server, settings)
    deadline = time.monotonic() + 10
    while (REGISTRY.get_sample_value("store_activity_open") or 0.0) <= feeds:
        assert time.monotonic() < deadline, "the page never watched its store"
        await asyncio.sleep(0.02)

    silver = await enroll(client, firstName="Sid")
    await purchase(client, silver["id"], "600.00")  # at store-001: Silver, not flagged
    await page.wait(lambda d: d.find_element("id", "store").get_attribute("data-feed") == "live")
    assert await page.script("return document.getElementById('flag').hidden;") is True
    visit = {
        "memberId": gold["id"],
        "kind": "STORE_VISIT",
        "channel": "POS",
        "storeId": "store-001",
        "idempotencyKey": uuid.uuid4().hex,
    }
    mutation = """mutation($input: RecordActivityInput!) {
      recordActivity(input: $input) { userErrors { code } } }"""
    assert (await client.data(mutation, {"input": visit}))["recordActivity"]["userErrors"] == []
    flag = await page.wait_text("#flag", "Gold member in store: Sam")
    assert "ACTIVITY_RECORDED" in flag
