"""The parts of the contract later issues build, in one place so the list visibly shrinks.

Each raises a top-level error with `extensions.code` NOT_IMPLEMENTED until its issue lands.
"""

from __future__ import annotations

from typing import NoReturn

from graphql import GraphQLError

PENDING: dict[str, str] = {}


def not_implemented(field: str) -> NoReturn:
    raise GraphQLError(
        f"{field} is not implemented yet (planned with the {PENDING[field]} work)",
        extensions={"code": "NOT_IMPLEMENTED"},
    )
