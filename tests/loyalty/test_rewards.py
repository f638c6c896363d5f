"""rewards: redeeming points for a reward, and using the issued code once at the till."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.changes import Context, IssueDraft, Outcome
from loyalty.errors import DomainError, ErrorCode
from loyalty.model import (
    ChangeKind,
    IssuedReward,
    IssuedRewardStatus,
    LedgerEntryKind,
    LedgerEntryStatus,
    Member,
)
from loyalty.program import Channel, ProgramDef, RewardDef, parse_program
from loyalty.purchases import record_purchase
from loyalty.rewards import (
    REWARD_FIELD,
    check_redeemable,
    is_eligible,
    redeem,
    tier_rank,
    use_issued,
)

RETIRED = parse_program(
    """
[program]
name = "Retired"
currency = "EUR"
point_value = "0.01"
earn_rate = "1"
max_purchase_amount = "100.00"

[[tiers]]
id = "low"
name = "Low"
threshold = 0
earn_multiplier = "1"

[[tiers]]
id = "high"
name = "High"
threshold = 100
earn_multiplier = "1"

[[rewards]]
id = "old-mug"
name = "Old mug"
cost = 50
minimum_tier = "high"
channels = ["POS"]
active = false

[[rewards]]
id = "forever"
name = "Forever voucher"
cost = 10
channels = ["APP"]
"""
)


def reward(program: ProgramDef, reward_id: str) -> RewardDef:
    found = program.reward(reward_id)
    assert found is not None
    return found


def with_points(member: Member, available: int, tier_id: str | None = None) -> Member:
    tier = member.tier if tier_id is None else replace(member.tier, tier_id=tier_id)
    balance = replace(member.balance, available=available, lifetime=max(available, 0))
    return replace(member, balance=balance, tier=tier)


def code_of(member: Member, draft: IssueDraft | None) -> IssuedReward:
    """What the persistence layer stores for an IssueDraft."""
    assert draft is not None
    return IssuedReward(
        id="ir-1",
        member_id=member.id,
        reward_id=draft.reward_id,
        code=draft.code,
        status=draft.status,
        issued_at=draft.issued_at,
        expires_at=draft.expires_at,
    )


def test_tier_rank(demo: ProgramDef) -> None:
    assert [tier_rank(t, demo) for t in ("member", "silver", "gold")] == [0, 1, 2]


def test_redeemable_when_everything_fits(demo: ProgramDef, member: Member) -> None:
    check_redeemable(with_points(member, 150), reward(demo, "free-coffee"), Channel.POS, demo)
    check_redeemable(
        with_points(member, 2500, "gold"), reward(demo, "gold-lounge"), Channel.APP, demo
    )


def test_wrong_channel_is_reward_unavailable(demo: ProgramDef, member: Member) -> None:
    coffee = reward(demo, "free-coffee")  # POS and KIOSK only
    with pytest.raises(DomainError) as info:
        check_redeemable(with_points(member, 10_000), coffee, Channel.APP, demo)
    assert info.value.code is ErrorCode.REWARD_UNAVAILABLE
    assert info.value.field == REWARD_FIELD
    assert "cannot be redeemed on APP" in info.value.message


def test_inactive_reward_is_reward_unavailable(member: Member) -> None:
    old = reward(RETIRED, "old-mug")
    rich = with_points(member, 10_000, "high")
    with pytest.raises(DomainError) as info:
        check_redeemable(rich, old, Channel.POS, RETIRED)
    assert info.value.code is ErrorCode.REWARD_UNAVAILABLE
    assert "is not offered" in info.value.message


def test_precedence_unavailable_before_tier_before_points(demo: ProgramDef, member: Member) -> None:
    lounge = reward(demo, "gold-lounge")  # gold only, 2500 points, APP/WEB/POS
    poor = with_points(member, 0, "member")

    def check(
        m: Member, channel: Channel, r: RewardDef = lounge, p: ProgramDef = demo
    ) -> ErrorCode:
        with pytest.raises(DomainError) as info:
            check_redeemable(m, r, channel, p)
        return info.value.code

    # too low a tier, too few points AND the wrong channel: the channel wins
    assert check(poor, Channel.KIOSK) is ErrorCode.REWARD_UNAVAILABLE
    # inactive beats tier and points too
    assert check(
        with_points(member, 0, "low"), Channel.POS, reward(RETIRED, "old-mug"), RETIRED
    ) is (ErrorCode.REWARD_UNAVAILABLE)
    # right channel, too low a tier and too few points: the tier wins
    assert check(poor, Channel.APP) is ErrorCode.TIER_TOO_LOW
    assert check(with_points(member, 10_000, "silver"), Channel.APP) is ErrorCode.TIER_TOO_LOW
    # right channel and tier, too few points
    assert check(with_points(member, 2499, "gold"), Channel.APP) is ErrorCode.INSUFFICIENT_POINTS


def test_tier_too_low_names_the_tier_needed(demo: ProgramDef, member: Member) -> None:
    with pytest.raises(DomainError, match="needs Gold tier") as info:
        check_redeemable(
            with_points(member, 9999, "silver"), reward(demo, "gold-lounge"), Channel.WEB, demo
        )
    assert info.value.field == REWARD_FIELD


def test_insufficient_points_says_how_many_more(demo: ProgramDef, member: Member) -> None:
    with pytest.raises(DomainError) as info:
        check_redeemable(with_points(member, 100), reward(demo, "free-coffee"), Channel.POS, demo)
    assert info.value.code is ErrorCode.INSUFFICIENT_POINTS
    assert "50 more needed" in info.value.message


def test_pending_points_cannot_be_spent(demo: ProgramDef, member: Member) -> None:
    waiting = replace(
        member, balance=replace(member.balance, available=0, pending=1000, lifetime=1000)
    )
    with pytest.raises(DomainError) as info:
        check_redeemable(waiting, reward(demo, "free-coffee"), Channel.POS, demo)
    assert info.value.code is ErrorCode.INSUFFICIENT_POINTS


def test_is_eligible(demo: ProgramDef, member: Member) -> None:
    coffee = reward(demo, "free-coffee")
    rich = with_points(member, 150)
    assert is_eligible(rich, coffee, None, demo)
    assert is_eligible(rich, coffee, Channel.KIOSK, demo)
    assert not is_eligible(rich, coffee, Channel.APP, demo)
    assert not is_eligible(with_points(member, 149), coffee, None, demo)
    assert not is_eligible(with_points(member, 10_000), reward(demo, "gold-lounge"), None, demo)


def test_redeem(demo: ProgramDef, member: Member, now: datetime) -> None:
    ctx = Context(now=now, actor="t", channel=Channel.POS, store_id="s-1")
    before = with_points(member, 600)
    outcome = redeem(before, reward(demo, "five-off"), "CODE-123", demo, ctx)
    after = outcome.member
    assert after.balance.available == 100
    assert after.balance.pending == before.balance.pending
    assert after.balance.lifetime == before.balance.lifetime
    assert after.version == before.version + 1
    assert after.last_activity_at == now
    assert outcome.changes == (ChangeKind.POINTS_REDEEMED, ChangeKind.REWARD_ISSUED)
    assert after.changes_since(before.version) == [
        ChangeKind.POINTS_REDEEMED,
        ChangeKind.REWARD_ISSUED,
    ]
    (entry,) = outcome.entries
    assert entry.kind is LedgerEntryKind.REDEEM
    assert entry.points == -500
    assert entry.balance_after == 100
    assert entry.status is LedgerEntryStatus.AVAILABLE
    assert entry.channel is Channel.POS
    assert entry.store_id == "s-1"
    assert outcome.store_id == "s-1"
    issue = outcome.issue
    assert issue is not None
    assert issue.reward_id == "five-off"
    assert issue.code == "CODE-123"
    assert issue.status is IssuedRewardStatus.ACTIVE
    assert issue.issued_at == now
    assert issue.expires_at == now + timedelta(days=60)
    assert outcome.used_reward is None


def test_redeem_without_valid_days_never_expires(member: Member, now: datetime) -> None:
    ctx = Context(now=now, actor="t", channel=Channel.APP)
    outcome = redeem(with_points(member, 10), reward(RETIRED, "forever"), "F", RETIRED, ctx)
    assert outcome.issue is not None
    assert outcome.issue.expires_at is None
    assert outcome.member.balance.available == 0


@pytest.mark.parametrize(
    ("available", "tier_id", "reward_id", "channel", "code"),
    [
        (10_000, "gold", "free-coffee", Channel.WEB, ErrorCode.REWARD_UNAVAILABLE),
        (10_000, "silver", "gold-lounge", Channel.APP, ErrorCode.TIER_TOO_LOW),
        (149, "member", "free-coffee", Channel.POS, ErrorCode.INSUFFICIENT_POINTS),
    ],
)
def test_redeem_refuses_through_check_redeemable(
    demo: ProgramDef,
    member: Member,
    now: datetime,
    available: int,
    tier_id: str,
    reward_id: str,
    channel: Channel,
    code: ErrorCode,
) -> None:
    ctx = Context(now=now, actor="t", channel=channel)
    with pytest.raises(DomainError) as info:
        redeem(with_points(member, available, tier_id), reward(demo, reward_id), "C", demo, ctx)
    assert info.value.code is code


def redeemed(demo: ProgramDef, member: Member, now: datetime) -> tuple[Outcome, IssuedReward]:
    ctx = Context(now=now, actor="t", channel=Channel.POS)
    outcome = redeem(with_points(member, 200), reward(demo, "free-coffee"), "COFFEE-1", demo, ctx)
    return outcome, code_of(outcome.member, outcome.issue)


def test_use_issued_works_once(demo: ProgramDef, member: Member, now: datetime) -> None:
    outcome, issued = redeemed(demo, member, now)
    holder = outcome.member
    later = now + timedelta(days=1)
    ctx = Context(now=later, actor="till", channel=Channel.KIOSK, store_id="s-7")
    used = use_issued(holder, issued, reward(demo, "free-coffee"), ctx)
    assert used.changes == (ChangeKind.REWARD_USED,)
    assert used.member.version == holder.version + 1
    assert used.member.balance == holder.balance  # using a code costs no further points
    assert used.entries == ()
    assert used.used_reward is not None
    assert used.used_reward.status is IssuedRewardStatus.REDEEMED
    assert used.used_reward.used_at == later
    assert used.used_reward.used_channel is Channel.KIOSK
    assert used.used_reward.used_store_id == "s-7"
    assert used.used_reward.code == "COFFEE-1"
    # the second use of the same code
    with pytest.raises(DomainError) as info:
        use_issued(used.member, used.used_reward, reward(demo, "free-coffee"), ctx)
    assert info.value.code is ErrorCode.REWARD_UNAVAILABLE
    assert info.value.field == ("input", "issuedRewardId")
    assert "redeemed" in info.value.message


@pytest.mark.parametrize("status", [IssuedRewardStatus.EXPIRED, IssuedRewardStatus.CANCELLED])
def test_use_issued_refuses_inactive_codes(
    demo: ProgramDef, member: Member, now: datetime, status: IssuedRewardStatus
) -> None:
    outcome, issued = redeemed(demo, member, now)
    ctx = Context(now=now, actor="till", channel=Channel.POS)
    with pytest.raises(DomainError) as info:
        use_issued(outcome.member, replace(issued, status=status), reward(demo, "free-coffee"), ctx)
    assert info.value.code is ErrorCode.REWARD_UNAVAILABLE


@pytest.mark.parametrize(
    "after", [timedelta(days=30), timedelta(days=30, seconds=1), timedelta(days=400)]
)
def test_use_issued_refuses_expired_codes(
    demo: ProgramDef, member: Member, now: datetime, after: timedelta
) -> None:
    outcome, issued = redeemed(demo, member, now)
    assert issued.expires_at == now + timedelta(days=30)
    ctx = Context(now=now + after, actor="till", channel=Channel.POS)
    with pytest.raises(DomainError, match="expired") as info:
        use_issued(outcome.member, issued, reward(demo, "free-coffee"), ctx)
    assert info.value.code is ErrorCode.REWARD_UNAVAILABLE


def test_use_issued_just_before_expiry_works(
    demo: ProgramDef, member: Member, now: datetime
) -> None:
    outcome, issued = redeemed(demo, member, now)
    ctx = Context(now=now + timedelta(days=30, seconds=-1), actor="till", channel=Channel.POS)
    assert (
        use_issued(outcome.member, issued, reward(demo, "free-coffee"), ctx).used_reward is not None
    )


def test_use_issued_refuses_wrong_channels(demo: ProgramDef, member: Member, now: datetime) -> None:
    outcome, issued = redeemed(demo, member, now)
    ctx = Context(now=now, actor="t", channel=Channel.WEB)
    with pytest.raises(DomainError) as info:
        use_issued(outcome.member, issued, reward(demo, "free-coffee"), ctx)
    assert info.value.code is ErrorCode.REWARD_UNAVAILABLE
    assert info.value.field == ("input", "channel")
    assert "cannot be used on WEB" in info.value.message


REWARD_IDS = ["free-coffee", "five-off", "tote-bag", "gold-lounge"]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("buy"), st.integers(min_value=1, max_value=400_000)),
        st.tuples(st.sampled_from(REWARD_IDS), st.sampled_from(list(Channel))),
    ),
    max_size=40,
)


@given(script=steps)
def test_balance_never_goes_below_zero(
    demo: ProgramDef, member: Member, script: list[tuple[str, object]]
) -> None:
    current = member
    now = member.enrolled_at
    earned = spent = 0
    for index, (action, arg) in enumerate(script):
        now += timedelta(hours=1)
        if action == "buy":
            assert isinstance(arg, int)
            ctx = Context(now=now, actor="t", channel=Channel.POS)
            amount = Decimal(arg) / 100
            outcome = record_purchase(current, amount, f"o-{index}", now, demo, ctx)
            earned += outcome.entries[0].points
        else:
            assert isinstance(arg, Channel)
            wanted = reward(demo, action)
            ctx = Context(now=now, actor="t", channel=arg)
            try:
                outcome = redeem(current, wanted, f"c-{index}", demo, ctx)
            except DomainError as exc:
                assert exc.code in {
                    ErrorCode.REWARD_UNAVAILABLE,
                    ErrorCode.TIER_TOO_LOW,
                    ErrorCode.INSUFFICIENT_POINTS,
                }
                assert exc.code is not ErrorCode.INSUFFICIENT_POINTS or (
                    current.balance.available < wanted.cost
                )
                continue
            assert current.balance.available >= wanted.cost
            assert outcome.member.balance.available == current.balance.available - wanted.cost
            assert outcome.entries[0].points == -wanted.cost
            spent += wanted.cost
        assert outcome.member.version == current.version + 1
        assert outcome.member.balance.available >= 0
        assert outcome.entries[0].balance_after == (
            outcome.member.balance.available + outcome.member.balance.pending
        )
        current = outcome.member
    assert current.balance.available == earned - spent >= 0
    assert current.balance.lifetime == earned
