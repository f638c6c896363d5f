"""Types of the privacy features beside the contract: revealing a member's personal data."""

from __future__ import annotations

import strawberry

from schema.member import Member
from schema.payloads import UserError


@strawberry.input(description="Which member to show unmasked, and why (the reason is audited).")
class RevealMemberInput:
    member_id: strawberry.ID
    reason: str = strawberry.field(description="Why the agent needs the data; 1 to 500 characters.")


@strawberry.type(description="The member with personal data unmasked, in this answer only.")
class RevealMemberPayload:
    member: Member | None
    user_errors: list[UserError]


@strawberry.input(description="Whose data to export, and why (audited).")
class ExportMemberInput:
    member_id: strawberry.ID
    reason: str = strawberry.field(description="The request being served; 1 to 500 characters.")


@strawberry.input(description="Whose data to erase, and why (audited).")
class EraseMemberInput:
    member_id: strawberry.ID
    reason: str = strawberry.field(description="The request being served; 1 to 500 characters.")


@strawberry.type(description="Everything held about a member, as one JSON document.")
class ExportMemberPayload:
    data: str | None = strawberry.field(
        description="JSON: profile, identifiers, balance, tier, ledger, issued rewards and the "
        "audit trail of the member."
    )
    user_errors: list[UserError]


@strawberry.type(description="The member after erasure: no personal data, points and ledger kept.")
class EraseMemberPayload:
    member: Member | None
    user_errors: list[UserError]
