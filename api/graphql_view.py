"""The GraphQL endpoint over HTTP and WebSocket: builds each request's context."""

from __future__ import annotations

import contextlib
import logging
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET, UnsetType

from api.auth import InvalidToken, bearer, verify
from api.logs import request_id_var
from resolvers.context import Context, Loaders, Services

log = logging.getLogger("api")


class ClosingWebSocketAdapter(ASGIWebSocketAdapter):
    """Closing an already closed socket is a no-op (we close with 4401 ourselves)."""

    async def close(self, code: int, reason: str) -> None:
        if self.ws.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(RuntimeError):
                await self.ws.close(code=code, reason=reason)


class GraphQLView(GraphQL[Context, None]):
    websocket_adapter_class = ClosingWebSocketAdapter  # type: ignore[assignment]

    def __init__(self, schema: Any, secret: str, issuer: str, **kwargs: Any) -> None:
        super().__init__(schema, **kwargs)
        self._secret = secret
        self._issuer = issuer

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
            )
        viewer = None
        token = bearer(request.headers.get("authorization"))
        if token:
            try:
                viewer = verify(token, self._secret, self._issuer)
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
        header = params.get("Authorization") or params.get("authorization")
        token = bearer(header) if isinstance(header, str) else None
        try:
            if token is None:
                raise InvalidToken("no token in connection_init")
            context.viewer = verify(token, self._secret, self._issuer)
        except InvalidToken as exc:
            log.info("auth.ws_rejected", extra={"reason": str(exc)})
            websocket = context.request
            if isinstance(websocket, WebSocket):
                await websocket.close(code=4401, reason="Unauthorized")
            raise ConnectionRejectionError() from None
        unset: UnsetType = UNSET
        return unset
