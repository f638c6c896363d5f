"""revealMember: an agent sees one member's personal data unmasked, for a stated reason.

The reveal holds for the answer it is given in, nothing is remembered: the member in the payload
carries the unmasked flag, every other read stays masked. The reason goes on the audit trail
before the data is returned, so no reveal goes unrecorded.
"""

from __future__ import annotations

from strawberry.types import Info

from db import audit, ids
from db.audit import AuditNote
from loyalty.errors import DomainError, ErrorCode
from resolvers.context import Context
from resolvers.errors import user_errors
from schema.privacy import RevealMemberInput, RevealMemberPayload
from schema.types import Member

MAX_REASON = 500


async def reveal_member(info: Info[Context, None], input: RevealMemberInput) -> RevealMemberPayload:
    context = info.context
    viewer = context.viewer
    assert viewer is not None  # the auth gate and the permission class run first
    reason = input.reason.strip()
    try:
        if not reason or len(reason) > MAX_REASON:
            raise DomainError(
                ErrorCode.INVALID_INPUT,
                f"give the reason for revealing, 1 to {MAX_REASON} characters",
                ("input", "reason"),
            )
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
