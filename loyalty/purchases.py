"""Earning on a purchase: points = floor(amount x earn rate x tier multiplier).

Purchase points wait out the return window as a pending lot; they qualify for tiers at once
(an upgrade happens at once), feed challenges, and the member's first purchase pays the
referrer's bonus in the same transaction.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from loyalty import challenges
from loyalty.changes import Context, EntryDraft, Outcome, Related, advance
from loyalty.errors import DomainError, ErrorCode
from loyalty.model import ChangeKind, LedgerEntry, LedgerEntryKind, Member
from loyalty.points import Book, dormant_at
from loyalty.program import INT32_MAX, ProgramDef
from loyalty.tiers import month_key, upgrade, with_qualifying


def purchase_points(amount: Decimal, program: ProgramDef, tier_id: str) -> int:
    """Base points times the multiplier of the tier held when buying, rounded down."""
    raw = amount * program.earn_rate * program.tier(tier_id).earn_multiplier
    return int(raw.to_integral_value(rounding=ROUND_FLOOR))


def referral_key(referee_id: str, order_id: str) -> str:
    """The order id of a referrer's bonus entry: names the referee's purchase it depends on."""
    return f"referral:{referee_id}:{order_id}"


def settle(
    member: Member,
    book: Book,
    changes: list[ChangeKind],
    step: challenges.Step,
    qualifying: int,
    program: ProgramDef,
    ctx: Context,
    *,
    order_id: str | None = None,
) -> Member:
    """The member after an earning: qualifying points and an upgrade, challenge progress and
    their bonuses (tied to `order_id`, so they are reversed with the purchase), activity."""
    tier = member.tier
    if qualifying:
        tier = with_qualifying(tier, qualifying, month_key(ctx.now), ctx.now, program)
    tier = upgrade(tier, ctx.now, program)
    if tier.tier_id != member.tier.tier_id:
        changes.append(ChangeKind.TIER_CHANGED)
    moved = challenges.progress(member, step, program, ctx.now)
    for done in moved.completed:
        if done.reward_points:
            book.earn(
                LedgerEntryKind.BONUS,
                done.reward_points,
                f"Challenge completed: {done.name}",
                channel=ctx.channel,
                store_id=ctx.store_id,
                order_id=order_id,
            )
    if moved.changed:
        changes.append(ChangeKind.CHALLENGE_PROGRESSED)
    after = replace(
        book.apply(member),
        tier=tier,
        challenges=moved.states,
        dormant_at=dormant_at(ctx.now, program) or member.dormant_at,
    )
    return advance(member, after, changes, ctx.now)


def record_purchase(
    member: Member,
    amount: Decimal,
    order_id: str,
    occurred_at: datetime,
    program: ProgramDef,
    ctx: Context,
    categories: tuple[tuple[str, int], ...] = (),
) -> Outcome:
    points = purchase_points(amount, program, member.tier.tier_id)
    if member.balance.lifetime + points > INT32_MAX:
        raise DomainError(ErrorCode.INVALID_INPUT, "the member's points would overflow", ("input",))
    window = program.return_window_days
    book = Book(member, program, ctx.now)
    book.earn(
        LedgerEntryKind.EARN,
        points,
        f"Purchase {order_id}: {amount} {program.currency}",
        pending_until=ctx.now + timedelta(days=window) if window > 0 else None,
        occurred_at=occurred_at,
        channel=ctx.channel,
        store_id=ctx.store_id,
        order_id=order_id,
        amount=str(amount),
    )
    changes = [ChangeKind.POINTS_EARNED]
    related: tuple[Related, ...] = ()
    first = member.referred_by is not None and not member.referral_paid
    if first and program.referral.referrer_bonus > 0:
        assert member.referred_by is not None
        related = (referrer_bonus(member.referred_by, member.id, order_id, program, ctx),)
    # Store challenges count check-ins (STORE_VISIT); a purchase counts its lines' categories.
    step = challenges.Step(categories=categories)
    after = settle(member, book, changes, step, points, program, ctx, order_id=order_id)
    if first:
        after = replace(after, referral_paid=True)
    return Outcome(
        member=after,
        changes=tuple(changes),
        entries=tuple(book.entries),
        store_id=ctx.store_id,
        related=related,
    )


def referrer_bonus(
    referrer_id: str, referee_id: str, order_id: str, program: ProgramDef, ctx: Context
) -> Related:
    """The referrer's bonus for the referee's first purchase, once per referee."""
    key = referral_key(referee_id, order_id)

    def apply(referrer: Member, earlier: list[LedgerEntry]) -> Outcome | None:
        if earlier:  # already paid for this purchase
            return None
        book = Book(referrer, program, ctx.now)
        book.earn(
            LedgerEntryKind.BONUS,
            program.referral.referrer_bonus,
            "Referral bonus: a member you referred made a first purchase",
            order_id=key,
        )
        changes = [ChangeKind.POINTS_EARNED]
        after = advance(referrer, book.apply(referrer), changes, ctx.now, active=False)
        return Outcome(member=after, changes=tuple(changes), entries=tuple(book.entries))

    return Related(member_id=referrer_id, apply=apply, order_id=key)


def welcome_bonus(
    member: Member, program: ProgramDef, ctx: Context
) -> tuple[Member, tuple[EntryDraft, ...]]:
    """A referred member's welcome bonus, written with its enrolment."""
    if member.referred_by is None or program.referral.welcome_bonus <= 0:
        return member, ()
    book = Book(member, program, ctx.now)
    book.earn(
        LedgerEntryKind.BONUS,
        program.referral.welcome_bonus,
        "Welcome bonus for joining through a referral",
        channel=ctx.channel,
    )
    return book.apply(member), tuple(book.entries)


def check_referral(member_id: str, referrer_id: str, referrer_chain: list[str]) -> None:
    """Refuse a self-referral and a loop (the new member somewhere up the referrer's chain)."""
    field = ("input", "referredBy")
    if referrer_id == member_id:
        raise DomainError(ErrorCode.INVALID_INPUT, "a member cannot refer themselves", field)
    if member_id in referrer_chain:
        raise DomainError(ErrorCode.INVALID_INPUT, "this referral would make a loop", field)
