"""A minimal HTTP/1.1 keep-alive client for the load generator.

The benchmark client shares two cores with the API process and the database, so it must cost
as little CPU per request as possible: httpx spends roughly as much CPU per request as a
small server handler. This client writes one pre-formatted request and parses the status
line, the headers and a Content-Length (or chunked) body, nothing else. Loopback only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from typing import Any


class HttpError(RuntimeError):
    """The server answered in a way this client does not expect."""


class HttpConnection:
    """One persistent connection; reconnects when the server closes it."""

    def __init__(self, host: str, port: int, headers: Mapping[str, str] | None = None) -> None:
        self.host = host
        self.port = port
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.reconnects = 0

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        """The connection, and whether it is reused (it may have been closed while idle)."""
        if self._reader is not None and self._reader.at_eof():
            await self.close()  # the server closed it while idle (keep-alive timeout)
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            self.reconnects += 1
            return self._reader, self._writer, False
        return self._reader, self._writer, True

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self._fixed}"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1")
        while True:
            reader, writer, reused = await self._open()
            writer.write(head + body)
            try:
                status, keep_alive, payload = await self._read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                await self.close()
                # A reused connection the server closed just as we sent (its keep-alive
                # timeout): nothing was answered, so send once more on a new connection,
                # as browsers do. A failure on a fresh connection is real.
                if reused and (not isinstance(exc, asyncio.IncompleteReadError) or not exc.partial):
                    continue
                raise
            if not keep_alive:
                await self.close()
            return status, payload

    async def _read_response(self, reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise HttpError(f"bad status line {lines[0]!r}")
        status = int(parts[1])
        length: int | None = None
        chunked = False
        keep_alive = parts[0] == "HTTP/1.1"
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            value = value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection":
                keep_alive = value.lower() != "close"
        if chunked:
            return status, keep_alive, await self._read_chunked(reader)
        if length is None:
            raise HttpError("response without Content-Length")
        return status, keep_alive, await reader.readexactly(length)

    @staticmethod
    async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
        body = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers expected
                return bytes(body)
            body += await reader.readexactly(size)
            await reader.readexactly(2)

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


class GraphQLClient:
    """POST /graphql with a bearer token over one keep-alive connection."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.http = HttpConnection(
            host,
            port,
            {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )

    async def execute_raw(self, query: str, variables: Mapping[str, Any]) -> tuple[int, bytes]:
        body = json.dumps({"query": query, "variables": variables}, separators=(",", ":"))
        return await self.http.request("POST", "/graphql", body.encode())

    async def execute(self, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """The decoded response; raises HttpError on a non-200 status or top-level errors."""
        status, body = await self.execute_raw(query, variables)
        if status != 200:
            raise HttpError(f"HTTP {status}: {body[:500]!r}")
        decoded: dict[str, Any] = json.loads(body)
        if decoded.get("errors"):
            raise HttpError(f"GraphQL errors: {json.dumps(decoded['errors'])[:800]}")
        return decoded

    async def close(self) -> None:
        await self.http.close()
