"""The browser pages and their assets are served by the API itself, never from elsewhere."""

from __future__ import annotations

import re

import httpx
import pytest

from api.web import ASSETS_INSTALLED, OWN, PAGES, VENDOR
from tests.support.servers import InProcessServer


@pytest.mark.parametrize("path", ["/graphiql", "/pos"])
async def test_the_pages_are_served_with_a_self_only_policy(
    server: InProcessServer, http: httpx.AsyncClient, path: str
) -> None:
    response = await http.get(f"{server.url}{path}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'self'" in policy


async def test_root_leads_to_graphiql_and_strawberrys_own_page_is_off(
    server: InProcessServer, http: httpx.AsyncClient
) -> None:
    root = await http.get(f"{server.url}/")
    assert root.status_code in (302, 307) and root.headers["location"] == "/graphiql"
    browser_get = await http.get(f"{server.url}/graphql", headers={"accept": "text/html"})
    assert browser_get.status_code in (302, 307) and browser_get.headers["location"] == "/graphiql"
    assert "unpkg" not in browser_get.text


@pytest.mark.skipif(
    not ASSETS_INSTALLED, reason="the browser assets are not installed (npm missing: make install)"
)
async def test_every_script_and_stylesheet_a_page_names_is_local_and_served(
    server: InProcessServer, http: httpx.AsyncClient
) -> None:
    for page in ("graphiql.html", "pos.html"):
        html = (PAGES / page).read_text()
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources
        for source in sources:
            if source.startswith("data:"):
                continue
            assert source.startswith("/"), f"{page} loads {source} from elsewhere"
            response = await http.get(f"{server.url}{source}")
            assert response.status_code == 200, source
            assert len(response.content) > 100


async def test_only_listed_assets_are_served(
    server: InProcessServer, http: httpx.AsyncClient
) -> None:
    assert (await http.get(f"{server.url}/assets/..%2Fpackage.json")).status_code == 404
    assert (await http.get(f"{server.url}/assets/index.js")).status_code == 404
    assert (await http.get(f"{server.url}/static/pos.html")).status_code == 404
    assert "pos.js" in OWN and "graphiql.min.js" in VENDOR


def test_no_page_or_script_of_ours_names_an_outside_host() -> None:
    for path in PAGES.iterdir():
        assert not re.search(r"https?://", path.read_text()), path.name
