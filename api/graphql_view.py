"""The GraphQL endpoint over HTTP and WebSocket: builds each request's context."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.types.unset import UNSET, UnsetType

from api.auth import InvalidToken, TokenVerifier, bearer
from api.logs import request_id_var
from api.outlets import LegacyWSHandler, TransportWSHandler
from api.shared_render import SharedRenderExecutor, encode_message
from resolvers.context import Context, Loaders, Services
from telemetry.metrics import WEBSOCKETS_OPEN

log = logging.getLogger("api")

EXPIRY_SWEEP_SECONDS = 0.5


class ClosingWebSocketAdapter(ASGIWebSocketAdapter):
    """Closing an already closed socket is a no-op (we close with 4401 and 1001 ourselves)."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        if self.ws.application_state == WebSocketState.DISCONNECTED:
            # Closed by a drain meanwhile: strawberry ends the operation on this exception.
            raise WebSocketDisconnected()
        try:
            await self.ws.send_text(encode_message(message))
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected() from exc

    async def close(self, code: int, reason: str) -> None:
        if self.ws.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(RuntimeError):
                await self.ws.close(code=code, reason=reason)


class GraphQLView(GraphQL[Context, None]):
    websocket_adapter_class = ClosingWebSocketAdapter  # type: ignore[assignment]
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(
        self, schema: Any, verifier: TokenVerifier, *, direct_delivery: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(schema, **kwargs)
        # Live member events go straight to parked subscribers' sockets (subscriptions/direct.py).
        self.direct_delivery = direct_delivery
        # Subscriptions render each event once per distinct selection (api/shared_render.py).
        schema.execution_context_class = SharedRenderExecutor
        self._verifier = verifier
        self._sockets: set[WebSocket] = set()
        # When each authenticated socket's token expires (loop time): the socket is closed with
        # 4401 then, so the client reconnects with a fresh token. One sweeping task for all of
        # them rather than a timer per socket (~0.9 KiB each, benchmarks/RESULTS.md).
        self._expiry: dict[WebSocket, float] = {}
        # No socket's token expires before this (a lower bound: a socket that leaves is not
        # taken out of it), so the sweeper looks through 10,000 sockets only when one is due.
        self._next_expiry = math.inf
        self._sweeper: asyncio.Task[None] | None = None
        self._no_sockets = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await super().__call__(scope, receive, send)
            return
        # The same socket object strawberry accepts and serves (create_websocket_response
        # returns the request), kept so a redeploy can close it with 1001.
        websocket = WebSocket(scope, receive=receive, send=send)
        self._sockets.add(websocket)
        self._no_sockets.clear()
        WEBSOCKETS_OPEN.inc()  # here rather than in a middleware of its own: no frame per socket
        try:
            await self.run(websocket)
        finally:
            WEBSOCKETS_OPEN.dec()
            self._expiry.pop(websocket, None)
            self._sockets.discard(websocket)
            if not self._sockets:
                self._no_sockets.set()

    def parse_json(self, data: str | bytes) -> Any:
        # strawberry turns only JSONDecodeError into a 400; bytes that are not UTF-8, JSON too
        # deeply nested for the parser, or a body that is not an object would be a 500.
        try:
            parsed = super().parse_json(data)
        except (UnicodeDecodeError, RecursionError) as exc:
            raise HTTPException(400, "Unable to parse request body as JSON") from exc
        # An operation is an object, a batch an array of objects; anything else (null, a
        # number, a string) is no request at all.
        if isinstance(parsed, dict) or (
            isinstance(parsed, list) and all(isinstance(item, dict) for item in parsed)
        ):
            return parsed
        raise HTTPException(400, "The request body must be a JSON object or an array of them")

    @property
    def open_sockets(self) -> int:
        return len(self._sockets)

    async def close_sockets(self, code: int = 1001, timeout: float = 5.0) -> None:
        """Close every WebSocket (1001 going away: clients reconnect elsewhere and resume with
        sinceVersion) and wait until their handlers have finished."""
        for websocket in list(self._sockets):
            if websocket.application_state == WebSocketState.CONNECTED:
                with contextlib.suppress(Exception):
                    await websocket.close(code=code, reason="server going away")
        if self._sockets:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._no_sockets.wait(), timeout)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:  # type: ignore[override]
        services: Services = request.app.state.services
        request_id = request_id_var.get() or uuid.uuid4().hex
        if isinstance(request, WebSocket):
            # One context serves the whole connection: no cache, so queries never read stale.
            return Context(
                services=services,
                viewer=None,
                request_id=request_id,
                loaders=Loaders(services.reads, cache=False),
                request=request,
                response=response,
                over_websocket=True,
            )
        viewer = None
        token = bearer(request.headers.get("authorization"))
        if token:
            try:
                viewer = self._verifier.verify(token)
            except InvalidToken as exc:
                log.info("auth.rejected", extra={"reason": str(exc)})
        return Context(
            services=services,
            viewer=viewer,
            request_id=request_id,
            loaders=Loaders(services.reads),
            request=request,
            response=response,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:  # type: ignore[override]
        params = context.connection_params or {}
        # the token is verified once, here; the connection keeps the viewer, not the params
        context.connection_params = None
        header = params.get("Authorization") or params.get("authorization")
        token = bearer(header) if isinstance(header, str) else None
        try:
            if token is None:
                raise InvalidToken("no token in connection_init")
            context.viewer = self._verifier.verify(token)
        except InvalidToken as exc:
            log.info("auth.ws_rejected", extra={"reason": str(exc)})
            websocket = context.request
            if isinstance(websocket, WebSocket):
                await websocket.close(code=4401, reason="Unauthorized")
            raise ConnectionRejectionError() from None
        websocket = context.request
        expires = context.viewer.expires_at
        if isinstance(websocket, WebSocket) and expires is not None:
            delay = max(0.0, (expires - datetime.now(UTC)).total_seconds())
            loop = asyncio.get_running_loop()
            at = loop.time() + delay
            self._expiry[websocket] = at
            self._next_expiry = min(self._next_expiry, at)
            if self._sweeper is None or self._sweeper.done():
                self._sweeper = loop.create_task(self._sweep(), name="ws-token-expiry")
        unset: UnsetType = UNSET
        return unset

    async def _sweep(self) -> None:
        """Close each socket within EXPIRY_SWEEP_SECONDS of its token's expiry; ends when no
        socket is left to watch."""
        loop = asyncio.get_running_loop()
        while self._expiry:
            await asyncio.sleep(EXPIRY_SWEEP_SECONDS)
            now = loop.time()
            if now < self._next_expiry:
                continue
            due = [websocket for websocket, at in self._expiry.items() if at <= now]
            for websocket in due:
                del self._expiry[websocket]
            self._next_expiry = min(self._expiry.values(), default=math.inf)
            if due:
                # together, and bounded: a socket that cannot take its close frame holds no one up
                closing = [loop.create_task(self._expired(websocket)) for websocket in due]
                await asyncio.wait(closing, timeout=EXPIRY_SWEEP_SECONDS)

    async def stop(self) -> None:
        """At shutdown: no sweeper left behind."""
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper

    async def _expired(self, websocket: WebSocket) -> None:
        if websocket.application_state == WebSocketState.CONNECTED:
            log.info("auth.ws_token_expired")
            with contextlib.suppress(Exception):
                await websocket.close(code=4401, reason="Token expired")
