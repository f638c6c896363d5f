"""Types of the identity spine beside the contract: duplicate candidates for agents."""

from __future__ import annotations

import strawberry

from loyalty import duplicates
from schema.member import Member

DuplicateReason = duplicates.DuplicateReason
strawberry.enum(
    DuplicateReason,
    name="DuplicateReason",
    description=(
        "Why two members may be one person: SAME_EMAIL (one mailbox, ignoring +tags and Gmail "
        "dots), SAME_PHONE (one national number under any country code), "
        "SAME_NAME_AND_BIRTHDAY."
    ),
)


@strawberry.type(description="A member who may be the same person as the one asked about.")
class DuplicateCandidate:
    member: Member = strawberry.field(description="The possible duplicate.")
    reasons: list[DuplicateReason] = strawberry.field(
        description="Every reason the two match, strongest evidence first."
    )
