"""The one place domain errors become GraphQL: `userErrors` entries or top-level errors."""

from __future__ import annotations

from graphql import GraphQLError

from loyalty.errors import DomainError, ErrorCode
from schema.payloads import UserError


def user_errors(error: DomainError) -> list[UserError]:
    return [
        UserError(
            code=error.code, message=error.message, field=list(error.field) if error.field else None
        )
    ]


def warning(message: str) -> UserError:
    """A remark on a change that was committed: an activity over its cap earned nothing."""
    return UserError(code=ErrorCode.LIMIT_REACHED, message=message, field=None)


def forbidden(message: str = "not allowed for this token") -> GraphQLError:
    return GraphQLError(message, extensions={"code": "FORBIDDEN"})


def top_level(error: DomainError) -> GraphQLError:
    """For queries and subscriptions, which have no payload to carry userErrors."""
    return GraphQLError(error.message, extensions={"code": error.code.value})
