"""Mobile-friendly HTTP transport on /graphql, in front of the GraphQL view:

- automatic persisted queries (Apollo's protocol): a client sends the query's SHA-256 hash in
  `extensions.persistedQuery`; an unknown hash is answered PERSISTED_QUERY_NOT_FOUND, the
  client sends query and hash once, then the hash alone (by POST, or by GET: a short URL);
- revalidated GET reads: a GET answer carries an ETag and `Cache-Control: private, no-cache`; a
  repeat with If-None-Match gets 304 and no body (the query still runs: bandwidth is what it saves);
- batching (a JSON array of operations) is strawberry's own, switched on in api/app.py.

Queries are kept per process (an LRU of MAX_QUERIES): behind a load balancer another replica may not
know a hash yet, and the protocol's retry registers it there.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_QUERIES = 10_000
MAX_BODY = 1_000_000  # bytes of one POST body read here; larger ones are refused
NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"


class PersistedQueryError(Exception):
    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class QueryStore:
    """sha256 hex -> query text, least recently used dropped first."""

    def __init__(self, size: int = MAX_QUERIES) -> None:
        self._size = size
        self._queries: OrderedDict[str, str] = OrderedDict()

    def get(self, digest: str) -> str | None:
        query = self._queries.get(digest)
        if query is not None:
            self._queries.move_to_end(digest)
        return query

    def put(self, digest: str, query: str) -> None:
        self._queries[digest] = query
        self._queries.move_to_end(digest)
        while len(self._queries) > self._size:
            self._queries.popitem(last=False)


def resolve(operation: dict[str, Any], store: QueryStore) -> dict[str, Any]:
    """The operation with its query filled in from (or registered under) its persisted hash."""
    extensions = operation.get("extensions")
    persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    if not isinstance(persisted, dict):
        return operation
    digest = persisted.get("sha256Hash")
    if persisted.get("version") != 1 or not isinstance(digest, str):
        raise PersistedQueryError("PERSISTED_QUERY_NOT_SUPPORTED", "Unsupported version", 400)
    query = operation.get("query")
    if isinstance(query, str) and query:
        if hashlib.sha256(query.encode()).hexdigest() != digest.lower():
            raise PersistedQueryError(MISMATCH, "provided sha does not match query", 400)
        store.put(digest.lower(), query)
        return operation
    known = store.get(digest.lower())
    if known is None:
        raise PersistedQueryError(NOT_FOUND, "PersistedQueryNotFound", 200)
    return {**operation, "query": known}


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


class GraphQLTransport:
    """ASGI middleware for HTTP requests to `path`; everything else passes untouched."""

    def __init__(self, app: ASGIApp, path: str = "/graphql", store: QueryStore | None = None):
        self.app = app
        self.path = path
        self.store = store or QueryStore()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        try:
            if method == "GET":
                if _is_browser_visit(scope):
                    # Strawberry's own (CDN) page is off: a browser opening /graphql gets ours.
                    await RedirectResponse("/graphiql")(scope, receive, send)
                    return
                scope = self._resolve_get(scope)
                await self._with_etag(scope, receive, send)
                return
            if method == "POST" and "json" in Headers(scope=scope).get("content-type", ""):
                body = await _read_body(receive)
                receive = self._replay(self._resolve_post(body))
        except PersistedQueryError as error:
            await _send_error(send, error)
            return
        await self.app(scope, receive, send)

    def _resolve_get(self, scope: Scope) -> Scope:
        params = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        if "extensions" not in params:
            return scope
        try:
            extensions = json.loads(params["extensions"])
        except ValueError:
            return scope  # the view answers malformed parameters itself
        resolved = resolve({"query": params.get("query"), "extensions": extensions}, self.store)
        params["query"] = resolved["query"]
        return {**scope, "query_string": urlencode(params).encode("latin-1")}

    def _resolve_post(self, body: bytes) -> bytes:
        if b"persistedQuery" not in body:
            return body  # the common case: nothing to resolve, no second parse
        try:
            data = json.loads(body)
        except ValueError:
            return body  # the view answers malformed JSON itself
        if isinstance(data, dict):
            return json.dumps(resolve(data, self.store)).encode()
        if isinstance(data, list) and all(isinstance(item, dict) for item in data):
            # A batch with any unknown hash is refused whole; the client resends it with queries.
            return json.dumps([resolve(item, self.store) for item in data]).encode()
        return body

    @staticmethod
    def _replay(body: bytes) -> Receive:
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        return receive

    async def _with_etag(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Buffer a GET answer (small JSON), tag it, and answer 304 when the client has it."""
        start: Message | None = None
        chunks: list[bytes] = []
        if_none_match = Headers(scope=scope).get("if-none-match")

        async def buffering_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                kind = Headers(raw=message["headers"]).get("content-type", "")
                if "json" in kind:
                    start = message
                    return
                # Anything else (a multipart subscription stream, an error page) passes as is.
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            headers = MutableHeaders(raw=list(start["headers"]))
            status = start["status"]
            if status == 200:
                tag = etag_of(body)
                headers["etag"] = tag
                headers["cache-control"] = "private, no-cache"
                headers.append("vary", "Authorization")
                if if_none_match == tag:
                    del headers["content-length"]
                    await send({**start, "status": 304, "headers": headers.raw})
                    await send({"type": "http.response.body", "body": b""})
                    return
            await send({**start, "headers": headers.raw})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffering_send)


def _is_browser_visit(scope: Scope) -> bool:
    """A page load of /graphql itself: HTML wanted, no operation in the URL."""
    accept = Headers(scope=scope).get("accept", "")
    return (
        "text/html" in accept
        and b"query=" not in scope["query_string"]
        and (b"extensions=" not in scope["query_string"])
    )


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise PersistedQueryError("REQUEST_TOO_LARGE", "request body too large", 413)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send_error(send: Send, error: PersistedQueryError) -> None:
    body = json.dumps(
        {"errors": [{"message": str(error), "extensions": {"code": error.code}}]}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
