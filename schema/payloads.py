"""Mutation payloads: the changed objects plus `userErrors`."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.enums import IdentifierKind, UserErrorCode
from schema.member import Member
from schema.points import LedgerEntry
from schema.rewards import IssuedReward


@strawberry.type(description="An expected failure, with a stable code clients can switch on.")
class UserError:
    code: UserErrorCode
    message: str
    field: list[str] | None = strawberry.field(
        description='Path into the input, e.g. ["input", "amount"].'
    )


@strawberry.type
class EnrollMemberPayload:
    member: Member | None
    user_errors: list[UserError]


@strawberry.type
class UpdateProfilePayload:
    member: Member | None
    user_errors: list[UserError]


@strawberry.type
class LinkIdentifierPayload:
    member: Member | None
    user_errors: list[UserError]


@strawberry.type
class UnlinkIdentifierPayload:
    member: Member | None
    user_errors: list[UserError]


@strawberry.type(description="What a cookie or device did before anyone enrolled with it.")
class GuestProfile:
    identifier_kind: IdentifierKind = strawberry.field(description="WEB_COOKIE or DEVICE_TOKEN.")
    activities: int = strawberry.field(description="Activities kept (the newest 100).")
    first_seen_at: datetime = strawberry.field(description="Its first recorded activity.")
    last_seen_at: datetime = strawberry.field(description="Its latest recorded activity.")


@strawberry.type(
    description="Where the activity went: on the identifier's member, or on a guest profile."
)
class RecordGuestActivityPayload:
    member: Member | None = strawberry.field(description="The member who owns the identifier.")
    guest: GuestProfile | None = strawberry.field(
        description="The guest profile, while no member owns the identifier."
    )
    user_errors: list[UserError] = strawberry.field(description="Why nothing was recorded.")


@strawberry.type(description="The restored member and the survivor it was taken back from.")
class UnmergeMemberPayload:
    member: Member | None = strawberry.field(description="The restored member.")
    survivor: Member | None = strawberry.field(description="The survivor, without what went back.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


@strawberry.type
class MergeMembersPayload:
    member: Member | None
    user_errors: list[UserError]


@strawberry.type
class RecordPurchasePayload:
    member: Member | None
    entry: LedgerEntry | None
    user_errors: list[UserError]


@strawberry.type
class RecordActivityPayload:
    member: Member | None
    entry: LedgerEntry | None
    user_errors: list[UserError]
    warnings: list[UserError] = strawberry.field(
        default_factory=list,
        description="Recorded, with a remark: LIMIT_REACHED when the activity earned nothing "
        "because its cap was reached.",
    )


@strawberry.type
class RedeemRewardPayload:
    member: Member | None
    issued_reward: IssuedReward | None
    entry: LedgerEntry | None
    user_errors: list[UserError]


@strawberry.type
class UseIssuedRewardPayload:
    issued_reward: IssuedReward | None
    member: Member | None
    user_errors: list[UserError]


@strawberry.type
class ReverseEntryPayload:
    member: Member | None
    entry: LedgerEntry | None
    user_errors: list[UserError]


@strawberry.type
class AdjustPointsPayload:
    member: Member | None
    entry: LedgerEntry | None
    user_errors: list[UserError]


@strawberry.type
class RecordActionOutcomePayload:
    member: Member | None
    user_errors: list[UserError]


@strawberry.type
class RecordReturnPayload:
    member: Member | None
    entry: LedgerEntry | None = strawberry.field(
        description="The REVERSAL entry; null when the returned share rounds to no points."
    )
    user_errors: list[UserError]
