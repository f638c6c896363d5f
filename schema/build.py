"""The assembled Schema: caches, limits, the auth gate, and masking of internal faults."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator

import strawberry
from graphql import (
    ASTValidationRule,
    GraphQLError,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import (
    MaskErrors,
    ParserCache,
    SchemaExtension,
    ValidationCache,
    max_aliases,
    query_depth_limiter,
)
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from schema.cost import QueryCost
from schema.descriptions import describe
from schema.enums import Role
from schema.member import Member
from schema.points import LedgerEntry
from schema.rewards import IssuedReward, Reward
from schema.root import Mutation, Query, Subscription

log = logging.getLogger("graphql")

# Codes a client may see as they are; anything else is an internal fault and is masked.
CLIENT_CODES = frozenset(
    {
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "RATE_LIMITED",
        "NOT_FOUND",
        "INVALID_INPUT",
        "NOT_IMPLEMENTED",
        "BAD_REQUEST",
    }
)


def is_internal(error: GraphQLError) -> bool:
    """Validation and parse errors have no original error; our own errors carry a code."""
    original = error.original_error
    if original is None:
        return False
    if isinstance(original, GraphQLError):
        if error.path is None:
            # Raised before any field ran: the client's variables failed to coerce ("ID cannot
            # represent value", a required input field missing); theirs to see.
            return False
        return (original.extensions or {}).get("code") not in CLIENT_CODES
    return True


def _introspection_only(execution_context: ExecutionContext) -> bool:
    document = execution_context.graphql_document
    if document is None:
        return False
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for selection in definition.selection_set.selections:
                name = getattr(selection, "name", None)
                if name is None or not name.value.startswith("__"):
                    return False
    return True


class AuthGate(SchemaExtension):
    """No token, no data: a top-level UNAUTHENTICATED error (introspection stays open so
    GraphiQL can show the docs before the agent pastes a token)."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        if getattr(context, "viewer", None) is None and not _introspection_only(
            self.execution_context
        ):
            self.execution_context.result = GraphQLExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        "a valid bearer token is required",
                        extensions={"code": "UNAUTHENTICATED"},
                    )
                ],
            )
        yield


class SubscriptionsOverWebSocket(SchemaExtension):
    """A subscription sent over plain HTTP gets a clear BAD_REQUEST, not an internal fault:
    there is no socket to push its updates on."""

    def on_execute(self) -> Iterator[None]:
        execution_context = self.execution_context
        context = execution_context.context
        if (
            execution_context.result is None
            and execution_context.operation_type is OperationType.SUBSCRIPTION
            and not getattr(context, "over_websocket", False)
        ):
            execution_context.result = GraphQLExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        "subscriptions run over a WebSocket on /graphql "
                        "(graphql-transport-ws or graphql-ws), not over HTTP",
                        extensions={"code": "BAD_REQUEST"},
                    )
                ],
            )
        yield


class OperationLimits(SchemaExtension):
    """The document's token limit and the extra validation rules: what strawberry's
    MaxTokensLimiter and AddValidationRules do, in one hook. A subscription keeps its operation
    hooks open as long as it lives, each a suspended generator; one instead of two, and the
    rules as one shared tuple instead of one per operation, is about 1 KiB less per subscriber
    (benchmarks/RESULTS.md)."""

    def __init__(self, max_tokens: int, rules: tuple[type[ASTValidationRule], ...]) -> None:
        self.max_tokens = max_tokens
        self.rules = rules

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens
        context.validation_rules = _with(tuple(context.validation_rules), self.rules)
        yield


@functools.lru_cache(maxsize=8)
def _with(
    base: tuple[type[ASTValidationRule], ...], extra: tuple[type[ASTValidationRule], ...]
) -> tuple[type[ASTValidationRule], ...]:
    return base + extra


class LoggedSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        request_id = getattr(getattr(execution_context, "context", None), "request_id", None)
        for error in errors:
            if is_internal(error):
                log.error(
                    "graphql.fault",
                    exc_info=error.original_error,
                    extra={"request_id": request_id, "path": error.path},
                )


MAX_ALIASES = 30
MAX_TOKENS = 5000
CACHE_SIZE = 512


def build_schema(max_depth: int = 12, *, introspection: bool = True) -> strawberry.Schema:
    # The limit rules are classes built once here. QueryDepthLimiter and MaxAliasesLimiter build
    # a new class per instance, and extensions are instantiated per request; the rule classes are
    # part of the ValidationCache key, so per-request classes would make every lookup a miss.
    limit_rules: tuple[type[ASTValidationRule], ...] = (
        query_depth_limiter.create_validator(max_depth, None),
        max_aliases.create_validator(MAX_ALIASES),
    )
    if not introspection:
        limit_rules += (NoSchemaIntrospectionCustomRule,)
    served = LoggedSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Member, Reward, IssuedReward, LedgerEntry, Role],
        extensions=[
            lambda: OperationLimits(MAX_TOKENS, limit_rules),
            lambda: ParserCache(maxsize=CACHE_SIZE),
            lambda: ValidationCache(maxsize=CACHE_SIZE),
            AuthGate,
            SubscriptionsOverWebSocket,
            QueryCost,
            lambda: MaskErrors(should_mask_error=is_internal, error_message="Internal error"),
        ],
    )
    describe(served._schema)
    return served
