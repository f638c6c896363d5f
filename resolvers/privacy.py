"""Privacy: revealMember (an agent sees one member unmasked, for a stated reason), exportMember
(everything held about a member, as JSON) and eraseMember (the right to erasure). All audited.

The reveal holds for the answer it is given in, nothing is remembered: the member in the payload
carries the unmasked flag, every other read stays masked. The reason goes on the audit trail
before the data is returned, so no reveal goes unrecorded.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from enum import Enum

from strawberry.types import Info

from db import audit, ids
from db.audit import AuditNote
from db.commit import Committed
from db.reads import everything_about
from db.tx_reads import TxReads
from loyalty import privacy
from loyalty.changes import Outcome, Related
from loyalty.errors import DomainError, ErrorCode
from loyalty.model import LedgerEntry
from loyalty.model import Member as DomainMember
from resolvers.commands import Commands
from resolvers.context import Context
from resolvers.errors import user_errors
from schema.member import Member
from schema.privacy import (
    EraseMemberInput,
    EraseMemberPayload,
    ExportMemberInput,
    ExportMemberPayload,
    RevealMemberInput,
    RevealMemberPayload,
)

MAX_REASON = 500


def _reason(text: str) -> str:
    reason = text.strip()
    if not reason or len(reason) > MAX_REASON:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"give the reason, 1 to {MAX_REASON} characters",
            ("input", "reason"),
        )
    return reason


async def reveal_member(info: Info[Context, None], input: RevealMemberInput) -> RevealMemberPayload:
    context = info.context
    viewer = context.viewer
    assert viewer is not None  # the auth gate and the permission class run first
    try:
        reason = _reason(input.reason)
        found = (
            await context.services.reads.live_member(input.member_id)
            if ids.kind_of(input.member_id) == ids.MEMBER
            else None
        )
        if found is None:
            raise DomainError(ErrorCode.NOT_FOUND, "no such member", ("input", "memberId"))
    except DomainError as error:
        return RevealMemberPayload(member=None, user_errors=user_errors(error))
    note = AuditNote("revealMember", viewer.subject, viewer.role.value, context.request_id, reason)
    await audit.record_outcome(
        context.services.reads.collections, note, found.id, "OK", context.now
    )
    return RevealMemberPayload(member=Member(state=found, revealed=True), user_errors=[])


class PrivacyCommands(Commands):
    async def export_member(self, member_id: str, reason: str) -> dict[str, object]:
        member = await self._member("exportMember", member_id, None)
        found = await everything_about(self._s.reads, member.id)
        note = AuditNote(
            "exportMember", self._viewer.subject, self._viewer.role.value, self._request_id, reason
        )
        await audit.record_outcome(self._s.reads.collections, note, member.id, "OK", self._now)
        return found

    async def erase_member(self, member_id: str, reason: str) -> Committed:
        member = await self._member("eraseMember", member_id, None)
        now = self._now

        def merged(tombstone: DomainMember, _: list[LedgerEntry]) -> Outcome | None:
            return privacy.erase_merged(tombstone, now)

        async def decide(current: DomainMember | None, _: TxReads) -> Outcome:
            assert current is not None
            erased = privacy.erase(current, now)
            # Accounts merged into this one are the same person's: erased in the same commit.
            return dataclasses.replace(
                erased, related=tuple(Related(m, merged) for m in current.merged_from)
            )

        # Audited inside the change's own transaction (resolvers/commands.py _audit_note).
        return await self._commit(member.id, decide, None, ("input",), reason=reason)


def _privacy(info: Info[Context, None]) -> PrivacyCommands:
    viewer = info.context.viewer
    assert viewer is not None
    return PrivacyCommands(info.context.services, viewer, info.context.now, info.context.request_id)


async def export_member(info: Info[Context, None], input: ExportMemberInput) -> ExportMemberPayload:
    try:
        found = await _privacy(info).export_member(input.member_id, _reason(input.reason))
    except DomainError as error:
        return ExportMemberPayload(data=None, user_errors=user_errors(error))
    return ExportMemberPayload(data=json.dumps(_plain(found), sort_keys=True), user_errors=[])


async def erase_member(info: Info[Context, None], input: EraseMemberInput) -> EraseMemberPayload:
    try:
        done = await _privacy(info).erase_member(input.member_id, _reason(input.reason))
    except DomainError as error:
        return EraseMemberPayload(member=None, user_errors=user_errors(error))
    return EraseMemberPayload(member=Member(state=done.member), user_errors=[])


def _plain(value: object) -> object:
    """Dataclasses (fields named as in the graph, camelCase), enums, tuples, Decimals and times
    as JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {_camel(f.name): _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)  # Decimal and the like


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
