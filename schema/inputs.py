"""Mutation inputs, exactly as the contract names them."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.enums import ActionOutcome, ActivityKind, Channel, IdentifierKind

ID = strawberry.ID


@strawberry.input(description="An identifier as typed or scanned; normalised by the server.")
class IdentifierInput:
    kind: IdentifierKind
    value: str


@strawberry.input(description="Consents to set; one left out keeps its current answer.")
class ConsentsInput:
    email: bool | None = None
    sms: bool | None = None
    push: bool | None = None
    personalization: bool | None = None


@strawberry.input
class EnrollMemberInput:
    identifiers: list[IdentifierInput] = strawberry.field(description="At least one.")
    channel: Channel
    first_name: str | None = None
    last_name: str | None = None
    birthday: str | None = strawberry.field(default=None, description="YYYY-MM-DD.")
    store_id: ID | None = None
    consents: ConsentsInput | None = None
    referred_by: ID | None = strawberry.field(default=None, description="The referrer's id.")
    idempotency_key: str | None = None


@strawberry.input(description="Fields to change; one left out keeps its value.")
class UpdateProfileInput:
    member_id: ID
    first_name: str | None = None
    last_name: str | None = None
    birthday: str | None = None
    preferred_channel: Channel | None = None
    preferred_store_id: ID | None = None
    consents: ConsentsInput | None = None


@strawberry.input
class LinkIdentifierInput:
    member_id: ID
    identifier: IdentifierInput
    verified: bool | None = None


@strawberry.input
class UnlinkIdentifierInput:
    member_id: ID
    identifier: IdentifierInput


@strawberry.input(description="Undo a merge within the program's unmerge window.")
class UnmergeMemberInput:
    merged_id: ID = strawberry.field(description="The merged member (the tombstone) to restore.")
    reason: str = strawberry.field(description="Why the merge was wrong, for the audit trail.")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Retries with the same key have one effect."
    )


@strawberry.input
class MergeMembersInput:
    survivor_id: ID
    merged_id: ID = strawberry.field(
        description="Its points, history, identifiers and tier progress move to the survivor."
    )
    reason: str
    idempotency_key: str | None = None


@strawberry.input(description="One line of a receipt.")
class PurchaseLineInput:
    sku: str
    quantity: int
    unit_price: str
    category: str | None = None


@strawberry.input
class RecordPurchaseInput:
    member_id: ID
    amount: str = strawberry.field(description="Decimal string: the total paid.")
    currency_code: str
    channel: Channel
    order_id: str = strawberry.field(description="The order or receipt number.")
    idempotency_key: str = strawberry.field(
        description="A retried request with the same key has the effect of one."
    )
    store_id: ID | None = None
    lines: list[PurchaseLineInput] | None = None
    occurred_at: datetime | None = None


@strawberry.input
class RecordActivityInput:
    member_id: ID
    kind: ActivityKind
    channel: Channel
    idempotency_key: str
    store_id: ID | None = None
    attributes: str | None = strawberry.field(default=None, description="A JSON object as text.")
    occurred_at: datetime | None = None


@strawberry.input(
    description="Activity of a web cookie or app device, before or after anyone enrols with it."
)
class RecordGuestActivityInput:
    identifier: IdentifierInput = strawberry.field(
        description="A WEB_COOKIE or DEVICE_TOKEN: its member's, or a guest's until one links it."
    )
    kind: ActivityKind = strawberry.field(description="What happened.")
    channel: Channel = strawberry.field(description="Where it happened.")
    idempotency_key: str = strawberry.field(description="Retries with the same key record once.")
    store_id: ID | None = strawberry.field(default=None, description="The store, for visits.")
    attributes: str | None = strawberry.field(default=None, description="A JSON object as text.")
    occurred_at: datetime | None = strawberry.field(default=None, description="Defaults to now.")


@strawberry.input
class RedeemRewardInput:
    member_id: ID
    reward_id: ID
    channel: Channel
    idempotency_key: str
    store_id: ID | None = None


@strawberry.input
class UseIssuedRewardInput:
    issued_reward_id: ID
    channel: Channel
    idempotency_key: str
    store_id: ID | None = None


@strawberry.input(description="Refunds and returns.")
class ReverseEntryInput:
    entry_id: ID
    reason: str
    idempotency_key: str


@strawberry.input
class AdjustPointsInput:
    member_id: ID
    points: int
    reason: str
    idempotency_key: str


@strawberry.input
class RecordActionOutcomeInput:
    member_id: ID
    action_id: ID
    outcome: ActionOutcome
    channel: Channel
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Beside the contract: a retry with the same key has one effect (without "
        "one, each SHOWN or SENT counts toward the caps).",
    )


@strawberry.input(description="Goods of a purchase came back: points are taken back in proportion.")
class RecordReturnInput:
    member_id: ID
    order_id: str = strawberry.field(description="The order of the purchase.")
    returned_amount: str = strawberry.field(
        description="Decimal string: the money refunded; the whole amount reverses the purchase."
    )
    idempotency_key: str
    store_id: ID | None = None
    reason: str | None = strawberry.field(
        default=None, description="Why the goods came back, for the activity history."
    )
