"""The access table (resolvers/access.py) as Strawberry permission classes on the root fields.

Each operation gets its own generated class (`Can<Operation>`) checking the token's role against
the operation's row. A refusal is audited. Queries and subscriptions are refused with a top-level
FORBIDDEN error; a mutation with its payload carrying a FORBIDDEN userError, as the contract
has every expected failure of a write. Scope (own member, own stores) is checked later, by the
resolver, where the member and store are known.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info
from strawberry.types.field import StrawberryField

from loyalty.errors import ErrorCode
from resolvers import refusals
from resolvers.access import OPERATIONS
from resolvers.context import Context
from schema.payloads import UserError


class RolePermission(BasePermission):
    operation = ""
    message = "not allowed for this token"
    error_extensions = {"code": "FORBIDDEN"}

    async def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        context = info.context
        viewer = context.viewer
        if viewer is None:
            return False  # the auth gate answers UNAUTHENTICATED before any field runs
        if viewer.role in OPERATIONS[self.operation]:
            return True
        # The member addressed, when the arguments name one (a mutation's in its input).
        member_id = (
            kwargs.get("member_id")
            or kwargs.get("id")
            or getattr(kwargs.get("input"), "member_id", None)
        )
        await refusals.record(
            context.services,
            viewer,
            self.operation,
            member_id if isinstance(member_id, str) else None,
            context.request_id,
            context.now,
        )
        return False


_CLASSES: dict[str, type[RolePermission]] = {}


def permission(operation: str) -> type[RolePermission]:
    """The permission class of one row of the table (one class per operation)."""
    if operation not in OPERATIONS:
        raise KeyError(f"{operation} has no row in resolvers/access.py OPERATIONS")
    if operation not in _CLASSES:
        name = "Can" + operation[0].upper() + operation[1:]
        _CLASSES[operation] = type(name, (RolePermission,), {"operation": operation})
    return _CLASSES[operation]


class PayloadPermission(PermissionExtension):
    """For mutations: a refusal is the payload with a FORBIDDEN userError and nothing else."""

    payload: Any = None

    def apply(self, field: StrawberryField) -> None:
        super().apply(field)
        self.payload = field.type

    def _on_unauthorized(self, permission: BasePermission) -> Any:
        error = UserError(code=ErrorCode.FORBIDDEN, message=permission.message or "", field=None)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(self.payload):
            if f.name == "user_errors":
                values[f.name] = [error]
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                values[f.name] = None
        return self.payload(**values)


def allow(operation: str) -> list[FieldExtension]:
    """Field extensions for a query or subscription root field."""
    return [PermissionExtension([permission(operation)()], use_directives=False)]


def allow_write(operation: str) -> list[FieldExtension]:
    """Field extensions for a mutation root field."""
    return [PayloadPermission([permission(operation)()], use_directives=False)]
