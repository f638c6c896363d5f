"""Failed authorizations go on the audit trail, on their own (no change committed with them)."""

from __future__ import annotations

from datetime import datetime

from graphql import GraphQLError

from db import audit
from db.audit import AuditNote
from resolvers.access import Viewer
from resolvers.context import Services
from resolvers.errors import forbidden

REFUSED = "FORBIDDEN"


async def record(
    services: Services,
    viewer: Viewer,
    operation: str,
    member_id: str | None,
    request_id: str | None,
    at: datetime,
) -> None:
    note = AuditNote(operation, viewer.subject, viewer.role.value, request_id)
    await audit.record_refusal(services.reads.collections, note, member_id, REFUSED, at)


async def refuse(
    services: Services,
    viewer: Viewer,
    operation: str,
    member_id: str | None,
    request_id: str | None,
    at: datetime,
) -> GraphQLError:
    """Records the refusal and returns the top-level FORBIDDEN error to raise."""
    await record(services, viewer, operation, member_id, request_id, at)
    return forbidden()
