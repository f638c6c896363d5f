"""auditLog: the audit trail for admins, one member's or all of it, newest first."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from db import audit, ids
from resolvers.context import Context
from resolvers.queries import check
from schema.audit import (
    AuditRecord,
    AuditRecordConnection,
    AuditRecordEdge,
    decode_cursor,
    encode_cursor,
)
from schema.shared import PageInfo

MAX_PAGE = 100


async def audit_log(
    info: Info[Context, None],
    member_id: strawberry.ID | None = None,
    first: int = 20,
    after: str | None = None,
) -> AuditRecordConnection:
    check(info, "auditLog")
    if not 1 <= first <= MAX_PAGE:
        raise GraphQLError(f"first must be 1 to {MAX_PAGE}", extensions={"code": "INVALID_INPUT"})
    if member_id is not None and ids.kind_of(member_id) != ids.MEMBER:
        return AuditRecordConnection(
            edges=[], page_info=PageInfo(has_next_page=False, end_cursor=None)
        )
    before = decode_cursor(after) if after else None
    c = info.context.services.reads.collections
    found = await audit.page(c, member_id, first + 1, before)
    edges = [
        AuditRecordEdge(cursor=encode_cursor(r.id), node=AuditRecord(state=r))
        for r in found[:first]
    ]
    return AuditRecordConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(found) > first, end_cursor=edges[-1].cursor if edges else None
        ),
    )
