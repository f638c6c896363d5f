"""Typed domain errors, mapped to GraphQL `userErrors` in one place (resolvers/errors.py)."""

from __future__ import annotations

from enum import Enum


class ErrorCode(str, Enum):
    """Stable codes clients switch on; the order is the contract's precedence."""

    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    INVALID_INPUT = "INVALID_INPUT"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    REWARD_UNAVAILABLE = "REWARD_UNAVAILABLE"
    TIER_TOO_LOW = "TIER_TOO_LOW"
    INSUFFICIENT_POINTS = "INSUFFICIENT_POINTS"
    IDENTIFIER_TAKEN = "IDENTIFIER_TAKEN"
    ALREADY_MERGED = "ALREADY_MERGED"
    ALREADY_REVERSED = "ALREADY_REVERSED"
    LAST_IDENTIFIER = "LAST_IDENTIFIER"
    # Beside the contract: an activity over its cap (recorded, no points), sent as a warning.
    LIMIT_REACHED = "LIMIT_REACHED"


class DomainError(Exception):
    """An expected failure of a request: becomes one `userErrors` entry."""

    def __init__(self, code: ErrorCode, message: str, field: tuple[str, ...] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"DomainError({self.code.value}, {self.message!r}, {self.field!r})"
