"""Who may do what: one table of roles per operation, plus the member and store scope checks.

The full access model (masking, reveal with reason, audit) builds on this table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Role(str, Enum):
    MEMBER = "MEMBER"
    POS = "POS"
    AGENT = "AGENT"
    ADMIN = "ADMIN"
    SERVICE = "SERVICE"


@dataclass(frozen=True)
class Viewer:
    subject: str
    role: Role
    member_id: str | None = None
    store_ids: frozenset[str] = field(default_factory=frozenset)


M, P, A, D, S = Role.MEMBER, Role.POS, Role.AGENT, Role.ADMIN, Role.SERVICE

# operation -> roles allowed. MEMBER rows act on the member's own id only; POS rows act at the
# token's own stores only.
OPERATIONS: dict[str, frozenset[Role]] = {
    "viewer": frozenset({M}),
    "member": frozenset({M, P, A, D, S}),
    "memberByIdentifier": frozenset({P, A, D, S}),
    "node": frozenset({M, P, A, D, S}),
    "program": frozenset({M, P, A, D, S}),
    "enrollMember": frozenset({P, A, D, S}),
    "updateProfile": frozenset({M, A, D}),
    "recordPurchase": frozenset({P, D, S}),
    "redeemReward": frozenset({M, P, A, D}),
    "useIssuedReward": frozenset({M, P, D}),
    "linkIdentifier": frozenset({M, P, A, D}),
    "unlinkIdentifier": frozenset({M, A, D}),
    "duplicateCandidates": frozenset({A, D}),
    "mergeMembers": frozenset({A, D}),
    "unmergeMember": frozenset({A, D}),
    "auditLog": frozenset({D}),
    "memberUpdated": frozenset({M, P, A, D, S}),
    # Not MEMBER: a member's own token could claim check-ins at any store; the app's backend
    # records app activity as SERVICE, the till as POS.
    "recordActivity": frozenset({P, D, S}),
    "recordGuestActivity": frozenset({P, D, S}),
    "reverseEntry": frozenset({A, D, S}),
    "recordReturn": frozenset({P, A, D, S}),
    "adjustPoints": frozenset({A, D}),
    "programStats": frozenset({D}),
    "recordActionOutcome": frozenset({M, P, A, D, S}),
    "notifications": frozenset({D, S}),
    "notificationCreated": frozenset({D, S}),
    "storeActivity": frozenset({P, A, D, S}),
}


def allowed(viewer: Viewer, operation: str, member_id: str | None, store_id: str | None) -> bool:
    """Whether `viewer` may run `operation` on `member_id` at `store_id`."""
    if viewer.role not in OPERATIONS.get(operation, frozenset()):
        return False
    if viewer.role is Role.MEMBER and member_id is not None and member_id != viewer.member_id:
        return False
    return not (
        viewer.role is Role.POS and store_id is not None and store_id not in viewer.store_ids
    )
