"""Who may do what: one table of roles per operation, plus the member and store scope checks.

The table is the whole role model: schema/permissions.py turns each row into the permission
class of its root field, the README shows it (a test keeps the two equal), and a test walks every
role against every operation. Scope rules (a MEMBER acts on itself only, a till or kiosk at its
own stores only) are checked where the member or store is known, with `allowed`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum


class Role(str, Enum):
    MEMBER = "MEMBER"
    POS = "POS"
    KIOSK = "KIOSK"
    AGENT = "AGENT"
    ADMIN = "ADMIN"
    SERVICE = "SERVICE"


@dataclass(frozen=True)
class Viewer:
    subject: str
    role: Role
    member_id: str | None = None
    store_ids: frozenset[str] = field(default_factory=frozenset)
    # When the token stops being valid: a WebSocket is closed with 4401 then. Not part of
    # equality, so a viewer's identity does not change with a refreshed token.
    expires_at: datetime | None = field(default=None, compare=False)


M, P, K, A, D, S = Role.MEMBER, Role.POS, Role.KIOSK, Role.AGENT, Role.ADMIN, Role.SERVICE

# Roles bound to the stores in their token's store_ids.
STORE_ROLES = frozenset({P, K})
# Roles that see personal data masked (loyalty/masking.py): an agent until it reveals one member
# with a reason; a kiosk, a screen in a shop anyone can read, always.
MASKED_ROLES = frozenset({A, K})

# operation -> roles allowed. MEMBER rows act on the member's own id only; POS and KIOSK rows
# act at the token's own stores only.
OPERATIONS: dict[str, frozenset[Role]] = {
    # queries
    "viewer": frozenset({M}),
    "member": frozenset({M, P, K, A, D, S}),
    "memberByIdentifier": frozenset({P, K, A, D, S}),
    "node": frozenset({M, P, K, A, D, S}),
    "program": frozenset({M, P, K, A, D, S}),
    "duplicateCandidates": frozenset({A, D}),
    "auditLog": frozenset({D}),
    "programStats": frozenset({D}),
    # mutations
    "enrollMember": frozenset({P, K, A, D, S}),
    "updateProfile": frozenset({M, A, D}),
    "recordPurchase": frozenset({P, K, D, S}),
    # Not MEMBER: a member's own token could claim check-ins at any store; the app's backend
    # records app activity as SERVICE, the till as POS.
    "recordActivity": frozenset({P, K, D, S}),
    "redeemReward": frozenset({M, P, K, A, D}),
    "useIssuedReward": frozenset({M, P, K, D}),
    "linkIdentifier": frozenset({M, P, A, D}),
    "unlinkIdentifier": frozenset({M, A, D}),
    "mergeMembers": frozenset({A, D}),
    "unmergeMember": frozenset({A, D}),
    "recordGuestActivity": frozenset({P, K, D, S}),
    "reverseEntry": frozenset({A, D, S}),
    "recordReturn": frozenset({P, K, A, D, S}),
    "adjustPoints": frozenset({A, D}),
    "recordActionOutcome": frozenset({M, P, K, A, D, S}),
    "notifications": frozenset({D, S}),
    "revealMember": frozenset({A, D}),
    "exportMember": frozenset({M, D}),
    "eraseMember": frozenset({D}),
    # subscriptions
    "memberUpdated": frozenset({M, P, K, A, D, S}),
    "notificationCreated": frozenset({D, S}),
    "storeActivity": frozenset({P, K, D}),
}


def allowed(viewer: Viewer, operation: str, member_id: str | None, store_id: str | None) -> bool:
    """Whether `viewer` may run `operation` on `member_id` at `store_id`."""
    if viewer.role not in OPERATIONS.get(operation, frozenset()):
        return False
    if viewer.role is Role.MEMBER and member_id is not None and member_id != viewer.member_id:
        return False
    return not (
        viewer.role in STORE_ROLES and store_id is not None and store_id not in viewer.store_ids
    )


def masks_personal_data(viewer: Viewer | None) -> bool:
    return viewer is not None and viewer.role in MASKED_ROLES


def table_markdown() -> str:
    """The table as the README shows it: one row per operation, one column per role."""
    roles = list(Role)
    lines = [
        "| operation | " + " | ".join(r.value for r in roles) + " |",
        "|---|" + "---|" * len(roles),
    ]
    for operation, permitted in OPERATIONS.items():
        cells = ("yes" if r in permitted else "-" for r in roles)
        lines.append(f"| `{operation}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)
