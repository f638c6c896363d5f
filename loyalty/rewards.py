"""Redeeming points for a reward, and using the issued code at the till."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from loyalty.changes import Context, IssueDraft, Outcome, advance
from loyalty.errors import DomainError, ErrorCode
from loyalty.model import (
    ChangeKind,
    IssuedReward,
    IssuedRewardStatus,
    LedgerEntry,
    LedgerEntryKind,
    Member,
)
from loyalty.points import Book, dormant_at
from loyalty.program import Channel, ProgramDef, RewardDef

REWARD_FIELD = ("input", "rewardId")


def tier_rank(tier_id: str, program: ProgramDef) -> int:
    return [t.id for t in program.tiers].index(tier_id)


def check_redeemable(
    member: Member, reward: RewardDef, channel: Channel, program: ProgramDef
) -> None:
    """Raise the first failure in the contract's order, or return when the reward may be had."""
    if not reward.active or channel not in reward.channels:
        where = "is not offered" if not reward.active else f"cannot be redeemed on {channel.value}"
        raise DomainError(ErrorCode.REWARD_UNAVAILABLE, f"{reward.name} {where}", REWARD_FIELD)
    if reward.minimum_tier is not None and tier_rank(member.tier.tier_id, program) < tier_rank(
        reward.minimum_tier, program
    ):
        needed = program.tier(reward.minimum_tier).name
        raise DomainError(
            ErrorCode.TIER_TOO_LOW, f"{reward.name} needs {needed} tier", REWARD_FIELD
        )
    if member.balance.available < reward.cost:
        short = reward.cost - member.balance.available
        raise DomainError(
            ErrorCode.INSUFFICIENT_POINTS,
            f"{reward.name} costs {reward.cost} points; {short} more needed",
            REWARD_FIELD,
        )


def is_eligible(
    member: Member, reward: RewardDef, channel: Channel | None, program: ProgramDef
) -> bool:
    """Whether the member could redeem the reward now (on `channel`, or on any of its channels)."""
    channels = [channel] if channel is not None else list(reward.channels)
    for candidate in channels:
        try:
            check_redeemable(member, reward, candidate, program)
        except DomainError:
            continue
        return True
    return False


def redeem(
    member: Member, reward: RewardDef, code: str, program: ProgramDef, ctx: Context
) -> Outcome:
    assert ctx.channel is not None
    check_redeemable(member, reward, ctx.channel, program)
    # Spent from the lots that expire soonest; a member in debt has no available points.
    book = Book(member, program, ctx.now)
    book.spend(reward.cost, f"Redeemed {reward.name}", channel=ctx.channel, store_id=ctx.store_id)
    expires = ctx.now + timedelta(days=reward.valid_days) if reward.valid_days else None
    changes = [ChangeKind.POINTS_REDEEMED, ChangeKind.REWARD_ISSUED]
    after = replace(
        book.apply(member), dormant_at=dormant_at(ctx.now, program) or member.dormant_at
    )
    return Outcome(
        member=advance(member, after, changes, ctx.now),
        changes=tuple(changes),
        entries=tuple(book.entries),
        issue=IssueDraft(reward_id=reward.id, code=code, issued_at=ctx.now, expires_at=expires),
        store_id=ctx.store_id,
    )


def use_issued(member: Member, issued: IssuedReward, reward: RewardDef, ctx: Context) -> Outcome:
    """Mark an issued code as used at the till: it works once, before it expires."""
    assert ctx.channel is not None
    field = ("input", "issuedRewardId")
    if issued.status is not IssuedRewardStatus.ACTIVE:
        raise DomainError(
            ErrorCode.REWARD_UNAVAILABLE, f"this code is {issued.status.value.lower()}", field
        )
    if issued.expires_at is not None and issued.expires_at <= ctx.now:
        raise DomainError(ErrorCode.REWARD_UNAVAILABLE, "this code has expired", field)
    if ctx.channel not in reward.channels:
        raise DomainError(
            ErrorCode.REWARD_UNAVAILABLE,
            f"{reward.name} cannot be used on {ctx.channel.value}",
            ("input", "channel"),
        )
    used = replace(
        issued,
        status=IssuedRewardStatus.REDEEMED,
        used_at=ctx.now,
        used_channel=ctx.channel,
        used_store_id=ctx.store_id,
    )
    changes = [ChangeKind.REWARD_USED]
    return Outcome(
        member=advance(member, member, changes, ctx.now),
        changes=tuple(changes),
        used_reward=used,
        store_id=ctx.store_id,
    )


def effective_status(issued: IssuedReward, now: datetime) -> IssuedRewardStatus:
    """An active code past its expiry reads as EXPIRED, whether or not a job has marked it."""
    if (
        issued.status is IssuedRewardStatus.ACTIVE
        and issued.expires_at is not None
        and issued.expires_at <= now
    ):
        return IssuedRewardStatus.EXPIRED
    return issued.status


def is_reversible(entry: LedgerEntry) -> bool:
    """Earnings can be taken back on a return, once; spending and corrections cannot."""
    return entry.kind in (LedgerEntryKind.EARN, LedgerEntryKind.BONUS) and entry.reversed_by is None
