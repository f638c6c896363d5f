"""A GraphQL client over HTTP and both WebSocket protocols, as the apps use them."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from api.auth import issue
from resolvers.access import Role
from settings import Settings

Json = dict[str, Any]


def token(
    settings: Settings,
    role: Role = Role.ADMIN,
    *,
    member_id: str | None = None,
    stores: list[str] | None = None,
    subject: str | None = None,
) -> str:
    return issue(
        settings.auth_secret.get_secret_value(),
        settings.auth_issuer,
        audience=settings.auth_audience,
        subject=subject or f"test-{role.value.lower()}",
        role=role,
        member_id=member_id,
        store_ids=stores,
    )


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient, url: str, bearer: str | None) -> None:
        self.http = http
        self.url = url
        self.bearer = bearer

    def as_(self, bearer: str | None) -> GraphQLClient:
        return GraphQLClient(self.http, self.url, bearer)

    async def post(self, query: str, variables: Json | None = None) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.bearer}"} if self.bearer else {}
        return await self.http.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers=headers,
        )

    async def execute(self, query: str, variables: Json | None = None) -> Json:
        """The whole response body; raises on HTTP errors."""
        response = await self.post(query, variables)
        response.raise_for_status()
        body: Json = response.json()
        return body

    async def data(self, query: str, variables: Json | None = None) -> Json:
        """`data`, asserting there were no top-level errors."""
        body = await self.execute(query, variables)
        assert "errors" not in body, body["errors"]
        data: Json = body["data"]
        return data


class TransportWsClient:
    """graphql-transport-ws (the current protocol)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def subscribe(self, query: str, variables: Json | None = None) -> str:
        op_id = uuid.uuid4().hex
        await self.ws.send(
            json.dumps(
                {
                    "id": op_id,
                    "type": "subscribe",
                    "payload": {"query": query, "variables": variables or {}},
                }
            )
        )
        return op_id

    async def receive(self, timeout: float = 10) -> Json:
        while True:
            message: Json = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if message["type"] in ("ping", "pong"):
                if message["type"] == "ping":
                    await self.ws.send(json.dumps({"type": "pong"}))
                continue
            return message

    async def next_data(self, timeout: float = 10) -> Json:
        message = await self.receive(timeout)
        assert message["type"] == "next", message
        payload: Json = message["payload"]
        assert "errors" not in payload, payload
        data: Json = payload["data"]
        return data


@asynccontextmanager
async def transport_ws(url: str, bearer: str | None) -> AsyncIterator[TransportWsClient]:
    async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        payload = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        yield TransportWsClient(ws)


class LegacyWsClient:
    """The older graphql-ws protocol (subscriptions-transport-ws), still used by older apps."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def start(self, query: str, variables: Json | None = None) -> str:
        op_id = uuid.uuid4().hex
        await self.ws.send(
            json.dumps(
                {
                    "id": op_id,
                    "type": "start",
                    "payload": {"query": query, "variables": variables or {}},
                }
            )
        )
        return op_id

    async def next_data(self, timeout: float = 10) -> Json:
        while True:
            message: Json = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if message["type"] == "ka":
                continue
            assert message["type"] == "data", message
            data: Json = message["payload"]["data"]
            return data


@asynccontextmanager
async def legacy_ws(url: str, bearer: str) -> AsyncIterator[LegacyWsClient]:
    async with connect(url, subprotocols=["graphql-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(
            json.dumps(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {bearer}"}}
            )
        )
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if message["type"] != "ka":
                break
        assert message["type"] == "connection_ack", message
        yield LegacyWsClient(ws)
