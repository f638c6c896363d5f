"""Types of the privacy features beside the contract: revealing a member's personal data."""

from __future__ import annotations

import strawberry

from schema.payloads import UserError
from schema.types import Member


@strawberry.input(description="Which member to show unmasked, and why (the reason is audited).")
class RevealMemberInput:
    member_id: strawberry.ID
    reason: str = strawberry.field(description="Why the agent needs the data; 1 to 500 characters.")


@strawberry.type(description="The member with personal data unmasked, in this answer only.")
class RevealMemberPayload:
    member: Member | None
    user_errors: list[UserError]
