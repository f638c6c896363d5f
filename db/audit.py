"""The audit trail: who did what to which member, when, why, and what it moved.

Append-only. A change's audit record is written inside the change's own transaction, so the
trail holds exactly the changes that committed; refused requests are recorded on their own.
Records hold kinds and counts, never a full identifier or token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from db import ids
from db.client import Collections, Doc


@dataclass(frozen=True)
class AuditNote:
    """What the API layer knows of a request: filled in with the change when it commits."""

    action: str  # the operation, e.g. "mergeMembers"
    actor: str  # the token's subject
    role: str
    request_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class AuditRecord:
    id: str
    at: datetime
    action: str
    actor: str
    role: str
    member_id: str | None
    outcome: str  # OK or the refusal's code
    reason: str | None
    details: dict[str, Any]
    request_id: str | None


def _doc(
    note: AuditNote, member_id: str | None, outcome: str, details: dict[str, Any], at: datetime
) -> Doc:
    return {
        "_id": ids.new_id(ids.AUDIT),
        "at": at,
        "action": note.action,
        "actor": note.actor,
        "role": note.role,
        "memberId": member_id,
        "outcome": outcome,
        "reason": note.reason,
        "details": details,
        "requestId": note.request_id,
    }


def _record(d: Doc) -> AuditRecord:
    return AuditRecord(
        id=d["_id"],
        at=d["at"],
        action=d["action"],
        actor=d["actor"],
        role=d["role"],
        member_id=d.get("memberId"),
        outcome=d["outcome"],
        reason=d.get("reason"),
        details=dict(d.get("details") or {}),
        request_id=d.get("requestId"),
    )


def change_doc(note: AuditNote, member_id: str, details: dict[str, Any], at: datetime) -> Doc:
    """A committed change's record, for the writer to insert in the change's transaction."""
    return _doc(note, member_id, "OK", details, at)


async def record_outcome(
    c: Collections, note: AuditNote, member_id: str | None, outcome: str, at: datetime
) -> None:
    """A record of its own, outside any change: a refusal (outcome = its code) or a reveal."""
    await c.audit.insert_one(_doc(note, member_id, outcome, {}, at))


record_refusal = record_outcome


async def page(
    c: Collections, member_id: str | None, first: int, before_id: str | None
) -> list[AuditRecord]:
    """Up to `first` records, newest first, older than the cursor's id when given."""
    query: dict[str, object] = {}
    if member_id is not None:
        query["memberId"] = member_id
    if before_id is not None:
        query["_id"] = {"$lt": before_id}
    docs = c.audit.find(query).sort("_id", -1).limit(first)
    return [_record(d) async for d in docs]
