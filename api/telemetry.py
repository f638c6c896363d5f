"""Per-request metrics and the request log line (the open-WebSocket gauge is kept by the view).

RequestTelemetry is a strawberry extension placed first, so it sees each operation whole: its
duration, its name, and the errors as the client receives them (already masked).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from telemetry.metrics import GRAPHQL_DURATION, GRAPHQL_ERRORS, operation_label

log = logging.getLogger("graphql")


def error_code(error: GraphQLError) -> str:
    code = (error.extensions or {}).get("code")
    return str(code) if code else "GRAPHQL_ERROR"


def user_error_codes(data: Any) -> list[str]:
    """The codes of userErrors in a mutation's payloads (top-level fields only)."""
    codes: list[str] = []
    if isinstance(data, dict):
        for payload in data.values():
            if isinstance(payload, dict):
                for error in payload.get("userErrors") or ():
                    if isinstance(error, dict) and error.get("code"):
                        codes.append(str(error["code"]))
    return codes


class RequestTelemetry(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        try:
            kind = context.operation_type
        except Exception:  # no parsed document or no such operation: count it as a query
            kind = OperationType.QUERY
        if kind is OperationType.SUBSCRIPTION:
            return  # a stream's lifetime is not a latency; open streams are a gauge
        seconds = time.perf_counter() - started
        operation = operation_label(context.operation_name)
        result = context.result
        errors = list(context.pre_execution_errors or ()) or list(
            getattr(result, "errors", None) or ()
        )
        codes = [error_code(e) for e in errors]
        user_codes = user_error_codes(getattr(result, "data", None))
        GRAPHQL_DURATION.labels(operation=operation, type=kind.value).observe(seconds)
        for code in codes:
            GRAPHQL_ERRORS.labels(kind="graphql", code=code).inc()
        for code in user_codes:
            GRAPHQL_ERRORS.labels(kind="user", code=code).inc()
        if not log.isEnabledFor(logging.INFO):
            return
        log.info(
            "graphql.request",
            extra={
                "request_id": getattr(context.context, "request_id", None),
                "operation": context.operation_name or "anonymous",
                "operation_type": kind.value,
                "duration_ms": round(seconds * 1000, 2),
                "error_codes": codes + user_codes,
            },
        )
