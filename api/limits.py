"""Abuse limits at the edge: request body size, and per-token rate limits kept in Redis.

The rate limit is a fixed one-minute window per token subject (INCR and EXPIRE in one pipeline),
shared by every process through Redis, so a client cannot spread its calls over replicas. Over the
limit an operation gets a top-level RATE_LIMITED error with `retryAfter` seconds (and the HTTP
`Retry-After` header). Without Redis, or while it is unreachable, requests are let through:
losing the limiter must not take the service down; the failure is logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from redis import asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

log = logging.getLogger("api")

WINDOW_SECONDS = 60


class BodySizeLimit:
    """413 for a request body over `max_bytes`, whether announced by Content-Length or not."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {
                "errors": [
                    {
                        "message": f"request body over {self.max_bytes} bytes",
                        "extensions": {"code": "BAD_REQUEST"},
                    }
                ]
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class RateLimiter:
    def __init__(
        self, redis_url: str, per_minute: int, namespace: str = "", *, cluster: bool = False
    ) -> None:
        self.per_minute = per_minute
        self.namespace = namespace  # one deployment's counts apart from another's on one Redis
        self._redis: aioredis.Redis | RedisCluster | None = None
        if redis_url and per_minute > 0:
            # In a cluster a subject's key lives on the node owning its slot; the client follows.
            self._redis = (
                RedisCluster.from_url(redis_url) if cluster else aioredis.from_url(redis_url)
            )

    async def retry_after(self, subject: str, now: float | None = None) -> int | None:
        """Counts one operation of `subject`; the seconds to wait when over the limit."""
        if self._redis is None:
            return None
        at = time.time() if now is None else now
        window = int(at // WINDOW_SECONDS)
        # The subject is hashed: a key name is no place for an identity.
        digest = hashlib.sha256(subject.encode()).hexdigest()[:24]
        key = f"ratelimit:{self.namespace}:{digest}:{window}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, WINDOW_SECONDS * 2)
                count, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("ratelimit.unavailable", extra={"reason": type(exc).__name__})
            return None
        if int(count) <= self.per_minute:
            return None
        return max(1, (window + 1) * WINDOW_SECONDS - int(at))

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


class RateLimitGate(SchemaExtension):
    """Each operation of a token counts against its subject's limit."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        viewer = getattr(context, "viewer", None)
        wait = await self.limiter.retry_after(viewer.subject) if viewer is not None else None
        if wait is not None:
            response = getattr(context, "response", None)
            headers = getattr(response, "headers", None)
            if headers is not None:
                headers["Retry-After"] = str(wait)
            self.execution_context.result = GraphQLExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        f"rate limit reached; retry in {wait} s",
                        extensions={"code": "RATE_LIMITED", "retryAfter": wait},
                    )
                ],
            )
        yield
