"""The browser surfaces served by the API itself: GraphiQL for agents and the POS screen.

Every script and stylesheet comes from this service (stores and call centres often block outside
scripts): our own pages from web/pages, the libraries from web/node_modules, installed at build
time from web/package-lock.json (`make install`, the Dockerfile). The Content-Security-Policy
makes the browser refuse anything else.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

WEB = Path(__file__).resolve().parents[1] / "web"
PAGES = WEB / "pages"
MODULES = WEB / "node_modules"
ASSETS_INSTALLED = (MODULES / ".installed").exists()  # npm ci ran (see the Makefile)

# URL name -> file under node_modules: only these are served, nothing else of node_modules.
VENDOR = {
    "graphiql.min.js": "graphiql/graphiql.min.js",
    "graphiql.min.css": "graphiql/graphiql.min.css",
    "react.production.min.js": "react/umd/react.production.min.js",
    "react-dom.production.min.js": "react-dom/umd/react-dom.production.min.js",
    "graphql-ws.min.js": "graphql-ws/umd/graphql-ws.min.js",
}
OWN = {
    "graphql-client.js",
    "graphiql-page.js",
    "pos.js",
    "pos.css",
}

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "connect-src 'self' ws: wss:",
        # GraphiQL sets inline style attributes and ships its fonts and icons as data: URLs.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"}
MISSING = "browser assets are not installed: run `make install` (npm ci in web/)"


def _page(name: str) -> Response:
    if not (MODULES / VENDOR["graphql-ws.min.js"]).is_file():
        return PlainTextResponse(MISSING, status_code=503)
    return FileResponse(PAGES / name, headers=HEADERS)


async def graphiql(request: Request) -> Response:
    return _page("graphiql.html")


async def pos(request: Request) -> Response:
    return _page("pos.html")


async def to_graphiql(request: Request) -> Response:
    return RedirectResponse("/graphiql")


async def vendor_asset(request: Request) -> Response:
    relative = VENDOR.get(request.path_params["name"])
    if relative is None:
        return PlainTextResponse("not found", status_code=404)
    path = MODULES / relative
    if not path.is_file():
        return PlainTextResponse(MISSING, status_code=503)
    return FileResponse(path, headers=HEADERS)


async def own_asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in OWN:
        return PlainTextResponse("not found", status_code=404)
    return FileResponse(PAGES / name, headers=HEADERS)


def web_routes() -> list[BaseRoute]:
    return [
        Route("/", to_graphiql),
        Route("/graphiql", graphiql),
        Route("/pos", pos),
        Route("/assets/{name}", vendor_asset),
        Route("/static/{name}", own_asset),
    ]
