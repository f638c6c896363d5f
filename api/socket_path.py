"""WebSockets to /graphql skip the HTTP layers.

A subscriber's socket stays open for hours, and every ASGI layer it was passed through keeps a
suspended frame for as long: Starlette's error and exception middleware, the router and its
route, and each of our HTTP middlewares, which only pass a WebSocket on. About 3 KiB per socket
for nothing (measured with tracemalloc; benchmarks/RESULTS.md). Sockets to /graphql go from the
application straight to the layers that do something for them; everything else takes the
usual stack.
"""

from __future__ import annotations

from collections.abc import Awaitable

from starlette.types import ASGIApp, Receive, Scope, Send


class SocketFastPath:
    def __init__(self, app: ASGIApp, sockets: ASGIApp, path: str = "/graphql") -> None:
        self.app = app
        self.sockets = sockets
        self.path = path

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Returns the next layer's coroutine instead of awaiting it: no frame of its own.
        if scope["type"] == "websocket" and scope["path"] == self.path:
            scope.setdefault("path_params", {})
            return self.sockets(scope, receive, send)
        return self.app(scope, receive, send)
