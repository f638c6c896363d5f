"""Mutation resolvers: input -> Commands -> payload. Expected failures become userErrors."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from db.commit import Committed
from loyalty.errors import DomainError
from resolvers.commands import PurchaseLine
from resolvers.context import Context
from resolvers.decision_commands import DecisionCommands
from resolvers.errors import user_errors, warning
from resolvers.identity_commands import IdentityCommands
from resolvers.points_commands import PointsCommands
from schema import inputs, payloads
from schema.member import Member
from schema.points import LedgerEntry
from schema.rewards import IssuedReward

Ctx = Info[Context, None]


def _commands(info: Ctx) -> IdentityCommands:
    viewer = info.context.viewer
    assert viewer is not None  # the auth gate refuses anonymous operations before this
    return IdentityCommands(
        info.context.services, viewer, info.context.now, info.context.request_id
    )


def _points(info: Ctx) -> PointsCommands:
    return _commands(info)  # IdentityCommands is a PointsCommands


def _request(data: object) -> dict[str, object]:
    """The input as a dict for the idempotency fingerprint, without the key itself."""
    body = strawberry.asdict(data)
    body.pop("idempotency_key", None)
    return body


def _consents(c: inputs.ConsentsInput | None) -> dict[str, bool | None] | None:
    if c is None:
        return None
    return {"email": c.email, "sms": c.sms, "push": c.push, "personalization": c.personalization}


def _entry(done: Committed) -> LedgerEntry | None:
    return LedgerEntry(state=done.entries[0]) if done.entries else None


async def enroll_member(info: Ctx, input: inputs.EnrollMemberInput) -> payloads.EnrollMemberPayload:
    try:
        done = await _commands(info).enroll(
            identifiers=[(i.kind, i.value) for i in input.identifiers],
            channel=input.channel,
            first_name=input.first_name,
            last_name=input.last_name,
            birthday=input.birthday,
            store_id=input.store_id,
            consents=_consents(input.consents),
            referred_by=input.referred_by,
            idempotency_key=input.idempotency_key,
            request=_request(input),
        )
    except DomainError as e:
        return payloads.EnrollMemberPayload(member=None, user_errors=user_errors(e))
    return payloads.EnrollMemberPayload(member=Member(state=done.member), user_errors=[])


async def update_profile(
    info: Ctx, input: inputs.UpdateProfileInput
) -> payloads.UpdateProfilePayload:
    try:
        done = await _commands(info).update_profile(
            input.member_id,
            first_name=input.first_name,
            last_name=input.last_name,
            birthday=input.birthday,
            preferred_channel=input.preferred_channel,
            preferred_store_id=input.preferred_store_id,
            consents=_consents(input.consents),
        )
    except DomainError as e:
        return payloads.UpdateProfilePayload(member=None, user_errors=user_errors(e))
    return payloads.UpdateProfilePayload(member=Member(state=done.member), user_errors=[])


async def record_purchase(
    info: Ctx, input: inputs.RecordPurchaseInput
) -> payloads.RecordPurchasePayload:
    try:
        done = await _commands(info).record_purchase(
            input.member_id,
            amount=input.amount,
            currency_code=input.currency_code,
            channel=input.channel,
            store_id=input.store_id,
            order_id=input.order_id,
            lines=[
                PurchaseLine(x.sku, x.quantity, x.unit_price, x.category) for x in input.lines or []
            ],
            occurred_at=input.occurred_at,
            idempotency_key=input.idempotency_key,
            request=_request(input),
        )
    except DomainError as e:
        return payloads.RecordPurchasePayload(member=None, entry=None, user_errors=user_errors(e))
    return payloads.RecordPurchasePayload(
        member=Member(state=done.member), entry=_entry(done), user_errors=[]
    )


async def redeem_reward(info: Ctx, input: inputs.RedeemRewardInput) -> payloads.RedeemRewardPayload:
    try:
        done = await _commands(info).redeem_reward(
            input.member_id,
            reward_id=input.reward_id,
            channel=input.channel,
            store_id=input.store_id,
            idempotency_key=input.idempotency_key,
            request=_request(input),
        )
    except DomainError as e:
        return payloads.RedeemRewardPayload(
            member=None, issued_reward=None, entry=None, user_errors=user_errors(e)
        )
    return payloads.RedeemRewardPayload(
        member=Member(state=done.member),
        issued_reward=IssuedReward(state=done.issued) if done.issued else None,
        entry=_entry(done),
        user_errors=[],
    )


async def use_issued_reward(
    info: Ctx, input: inputs.UseIssuedRewardInput
) -> payloads.UseIssuedRewardPayload:
    try:
        done = await _commands(info).use_issued_reward(
            input.issued_reward_id,
            channel=input.channel,
            store_id=input.store_id,
            idempotency_key=input.idempotency_key,
            request=_request(input),
        )
    except DomainError as e:
        return payloads.UseIssuedRewardPayload(
            issued_reward=None, member=None, user_errors=user_errors(e)
        )
    return payloads.UseIssuedRewardPayload(
        issued_reward=IssuedReward(state=done.issued) if done.issued else None,
        member=Member(state=done.member),
        user_errors=[],
    )


async def link_identifier(
    info: Ctx, input: inputs.LinkIdentifierInput
) -> payloads.LinkIdentifierPayload:
    try:
        done = await _commands(info).link_identifier(
            input.member_id,
            kind=input.identifier.kind,
            value=input.identifier.value,
            verified=input.verified,
        )
    except DomainError as e:
        return payloads.LinkIdentifierPayload(member=None, user_errors=user_errors(e))
    return payloads.LinkIdentifierPayload(member=Member(state=done.member), user_errors=[])


async def unlink_identifier(
    info: Ctx, input: inputs.UnlinkIdentifierInput
) -> payloads.UnlinkIdentifierPayload:
    try:
        done = await _commands(info).unlink_identifier(
            input.member_id, kind=input.identifier.kind, value=input.identifier.value
        )
    except DomainError as e:
        return payloads.UnlinkIdentifierPayload(member=None, user_errors=user_errors(e))
    return payloads.UnlinkIdentifierPayload(member=Member(state=done.member), user_errors=[])


async def merge_members(info: Ctx, input: inputs.MergeMembersInput) -> payloads.MergeMembersPayload:
    try:
        done = await _commands(info).merge_members(
            input.survivor_id,
            input.merged_id,
            reason=input.reason,
            idempotency_key=input.idempotency_key,
            request=_request(input),
        )
    except DomainError as e:
        return payloads.MergeMembersPayload(member=None, user_errors=user_errors(e))
    return payloads.MergeMembersPayload(member=Member(state=done.member), user_errors=[])


async def record_action_outcome(
    info: Ctx, input: inputs.RecordActionOutcomeInput
) -> payloads.RecordActionOutcomePayload:
    viewer = info.context.viewer
    assert viewer is not None
    commands = DecisionCommands(info.context.services, viewer, info.context.now)
    try:
        done = await commands.record_action_outcome(
            input.member_id,
            action_id=input.action_id,
            outcome=input.outcome,
            channel=input.channel,
            idempotency_key=input.idempotency_key,
            request=_request(input),
        )
    except DomainError as e:
        return payloads.RecordActionOutcomePayload(member=None, user_errors=user_errors(e))
    return payloads.RecordActionOutcomePayload(member=Member(state=done.member), user_errors=[])


async def record_activity(
    info: Ctx, input: inputs.RecordActivityInput
) -> payloads.RecordActivityPayload:
    try:
        done = await _points(info).record_activity(
            input.member_id,
            kind=input.kind,
            channel=input.channel,
            store_id=input.store_id,
            attributes=input.attributes,
            occurred_at=input.occurred_at,
            idempotency_key=input.idempotency_key,
            request=_request(input),
        )
    except DomainError as e:
        return payloads.RecordActivityPayload(member=None, entry=None, user_errors=user_errors(e))
    return payloads.RecordActivityPayload(
        member=Member(state=done.member),
        entry=_entry(done),
        user_errors=[],
        warnings=[warning(done.limit_reached)] if done.limit_reached else [],
    )


async def reverse_entry(info: Ctx, input: inputs.ReverseEntryInput) -> payloads.ReverseEntryPayload:
    try:
        done = await _points(info).reverse_entry(
            input.entry_id,
            reason=input.reason,
            idempotency_key=input.idempotency_key,
            request=_request(input),
        )
    except DomainError as e:
        return payloads.ReverseEntryPayload(member=None, entry=None, user_errors=user_errors(e))
    return payloads.ReverseEntryPayload(
        member=Member(state=done.member), entry=_entry(done), user_errors=[]
    )


async def adjust_points(info: Ctx, input: inputs.AdjustPointsInput) -> payloads.AdjustPointsPayload:
    try:
        done = await _points(info).adjust_points(
            input.member_id,
            points=input.points,
            reason=input.reason,
            idempotency_key=input.idempotency_key,
            request=_request(input),
        )
    except DomainError as e:
        return payloads.AdjustPointsPayload(member=None, entry=None, user_errors=user_errors(e))
    return payloads.AdjustPointsPayload(
        member=Member(state=done.member), entry=_entry(done), user_errors=[]
    )


async def record_return(info: Ctx, input: inputs.RecordReturnInput) -> payloads.RecordReturnPayload:
    try:
        done = await _points(info).record_return(
            input.member_id,
            order_id=input.order_id,
            returned_amount=input.returned_amount,
            reason=input.reason,
            store_id=input.store_id,
            idempotency_key=input.idempotency_key,
            request=_request(input),
        )
    except DomainError as e:
        return payloads.RecordReturnPayload(member=None, entry=None, user_errors=user_errors(e))
    return payloads.RecordReturnPayload(
        member=Member(state=done.member), entry=_entry(done), user_errors=[]
    )


async def unmerge_member(
    info: Ctx, input: inputs.UnmergeMemberInput
) -> payloads.UnmergeMemberPayload:
    commands = _commands(info)
    try:
        done = await commands.unmerge_member(
            input.merged_id,
            reason=input.reason,
            idempotency_key=input.idempotency_key,
            request=_request(input),
        )
        restored = await commands.restored(done, input.merged_id)
    except DomainError as e:
        return payloads.UnmergeMemberPayload(member=None, survivor=None, user_errors=user_errors(e))
    return payloads.UnmergeMemberPayload(
        member=Member(state=restored), survivor=Member(state=done.member), user_errors=[]
    )


async def record_guest_activity(
    info: Ctx, input: inputs.RecordGuestActivityInput
) -> payloads.RecordGuestActivityPayload:
    try:
        done, guest = await _commands(info).record_guest_activity(
            kind=input.identifier.kind,
            value=input.identifier.value,
            activity=input.kind,
            channel=input.channel,
            store_id=input.store_id,
            attributes=input.attributes,
            occurred_at=input.occurred_at,
            idempotency_key=input.idempotency_key,
            request=_request(input),
        )
    except DomainError as e:
        return payloads.RecordGuestActivityPayload(
            member=None, guest=None, user_errors=user_errors(e)
        )
    return payloads.RecordGuestActivityPayload(
        member=Member(state=done.member) if done else None,
        guest=payloads.GuestProfile(
            identifier_kind=guest.kind,
            activities=guest.activities,
            first_seen_at=guest.first_seen_at,
            last_seen_at=guest.last_seen_at,
        )
        if guest
        else None,
        user_errors=[],
    )
