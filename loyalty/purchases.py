"""Earning on a purchase: points = floor(amount x earn rate x tier multiplier)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from loyalty.changes import Context, EntryDraft, Outcome, advance
from loyalty.errors import DomainError, ErrorCode
from loyalty.model import Balance, ChangeKind, LedgerEntryKind, LedgerEntryStatus, Member
from loyalty.program import INT32_MAX, ProgramDef
from loyalty.tiers import tier_for


def purchase_points(amount: Decimal, program: ProgramDef, tier_id: str) -> int:
    """Base points times the multiplier of the tier held when buying, rounded down."""
    raw = amount * program.earn_rate * program.tier(tier_id).earn_multiplier
    return int(raw.to_integral_value(rounding=ROUND_FLOOR))


def record_purchase(
    member: Member,
    amount: Decimal,
    order_id: str,
    occurred_at: datetime,
    program: ProgramDef,
    ctx: Context,
) -> Outcome:
    points = purchase_points(amount, program, member.tier.tier_id)
    balance = member.balance
    if balance.lifetime + points > INT32_MAX:
        raise DomainError(ErrorCode.INVALID_INPUT, "the member's points would overflow", ("input",))
    pending = program.return_window_days > 0
    available_at = ctx.now + timedelta(days=program.return_window_days) if pending else None
    new_balance = Balance(
        available=balance.available + (0 if pending else points),
        pending=balance.pending + (points if pending else 0),
        lifetime=balance.lifetime + points,
    )
    qualifying = member.tier.qualifying_points + points
    tier = member.tier
    changes = [ChangeKind.POINTS_EARNED]
    held = tier_for(qualifying, program)
    if held.id != tier.tier_id:
        changes.append(ChangeKind.TIER_CHANGED)
        tier = replace(tier, tier_id=held.id, since=ctx.now)
    tier = replace(tier, qualifying_points=qualifying)
    entry = EntryDraft(
        kind=LedgerEntryKind.EARN,
        points=points,
        balance_after=new_balance.available + new_balance.pending,
        status=LedgerEntryStatus.PENDING if pending else LedgerEntryStatus.AVAILABLE,
        description=f"Purchase {order_id}: {amount} {program.currency}",
        occurred_at=occurred_at,
        channel=ctx.channel,
        store_id=ctx.store_id,
        available_at=available_at,
        order_id=order_id,
    )
    after = replace(member, balance=new_balance, tier=tier)
    return Outcome(
        member=advance(member, after, changes, ctx.now),
        changes=tuple(changes),
        entries=(entry,),
        store_id=ctx.store_id,
    )
