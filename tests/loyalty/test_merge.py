"""merge.merge: everything moves to the survivor, both ledgers still sum, nothing is lost."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.changes import Context, EntryDraft, Outcome, advance
from loyalty.decisions.state import Engagement
from loyalty.enrollment import enroll
from loyalty.errors import DomainError, ErrorCode
from loyalty.identity import link
from loyalty.merge import merge, unmerge
from loyalty.model import (
    ChangeKind,
    Consents,
    IdentifierKind,
    LedgerEntryKind,
    LedgerEntryStatus,
    Member,
    Profile,
)
from loyalty.points import Book
from loyalty.program import Channel, NegativeBalancePolicy, ProgramDef
from loyalty.purchases import record_purchase
from tests.loyalty.conftest import T0

EMAIL = IdentifierKind.EMAIL


def new_member(member_id: str, email: str, program: ProgramDef, **profile: object) -> Member:
    ctx = Context(now=T0, actor="test", channel=Channel.APP)
    return enroll(member_id, [(EMAIL, email)], Profile(**profile), program, ctx).member  # type: ignore[arg-type]


def buy(member: Member, amount: str, program: ProgramDef, at_days: float = 0) -> Member:
    ctx = Context(now=T0 + timedelta(days=at_days), actor="till", channel=Channel.POS)
    order = f"o-{member.id}-{member.version}"
    return record_purchase(member, Decimal(amount), order, ctx.now, program, ctx).member


def sums(entries: tuple[EntryDraft, ...]) -> tuple[int, int]:
    available = sum(e.points for e in entries if e.status is LedgerEntryStatus.AVAILABLE)
    pending = sum(e.points for e in entries if e.status is LedgerEntryStatus.PENDING)
    return available, pending


def do_merge(
    kept: Member, gone: Member, program: ProgramDef, **kw: object
) -> tuple[Outcome, Outcome]:
    ctx = Context(now=T0 + timedelta(days=2), actor="agent-1")
    return merge(kept, gone, "one person, two cards", tuple(kw.get("rewards", ())), program, ctx)  # type: ignore[arg-type]


def test_balance_lots_and_identifiers_move_and_both_ledgers_sum(demo: ProgramDef) -> None:
    kept = buy(new_member("m-a", "a@example.com", demo), "120", demo)
    gone = buy(buy(new_member("m-b", "b@example.com", demo), "30", demo), "45.50", demo, 1)
    survivor, tombstone = do_merge(kept, gone, demo, rewards=("irw-1",))

    s, t = survivor.member, tombstone.member
    assert s.balance.available == 120 + 30 + 45
    assert s.balance.lifetime == 195
    assert sum(lot.points for lot in s.lots) == s.balance.available
    # The moved lots keep their own expiry.
    assert sorted(str(lot.expires_at) for lot in s.lots) == sorted(
        str(lot.expires_at) for lot in (*kept.lots, *gone.lots)
    )
    assert [(i.kind, i.value) for i in s.identifiers] == [
        (EMAIL, "a@example.com"),
        (EMAIL, "b@example.com"),
    ]
    assert s.version == kept.version + 1 and t.version == gone.version + 1
    assert survivor.changes == (ChangeKind.MERGED,) and tombstone.changes == (ChangeKind.MERGED,)
    assert sums(survivor.entries) == (75, 0) and sums(tombstone.entries) == (-75, 0)
    assert {e.kind for e in (*survivor.entries, *tombstone.entries)} == {LedgerEntryKind.MERGE}

    assert t.merged_into == s.id and t.identifiers == () and t.lots == ()
    assert (t.balance.available, t.balance.pending) == (0, 0)
    assert t.merge is not None and t.merge.before == gone and t.merge.moved_rewards == ("irw-1",)
    assert t.merge.actor == "agent-1" and t.merge.reason == "one person, two cards"


def test_pending_points_stay_pending_until_their_own_release(demo: ProgramDef) -> None:
    program = demo.model_copy(update={"return_window_days": 14})
    kept = new_member("m-a", "a@example.com", program)
    gone = buy(buy(new_member("m-b", "b@example.com", program), "10", program), "20", program, 1)
    assert gone.balance.pending == 30
    survivor, tombstone = do_merge(kept, gone, program)
    s = survivor.member
    assert (s.balance.available, s.balance.pending) == (0, 30)
    assert sorted(lot.available_at for lot in s.lots if lot.pending) == sorted(  # type: ignore[type-var]
        lot.available_at for lot in gone.lots
    )
    assert sums(survivor.entries) == (0, 30)
    assert sums(tombstone.entries) == (0, -30)
    # Each pending lot has an entry of its own, so releasing it marks exactly that entry.
    pending_seqs = {lot.seq for lot in s.lots if lot.pending}
    assert len(pending_seqs) == 2


def test_more_pending_purchases_than_entry_slots_still_move_exactly(demo: ProgramDef) -> None:
    program = demo.model_copy(update={"return_window_days": 30})
    gone = new_member("m-b", "b@example.com", program)
    for day in range(20):
        gone = buy(gone, "1", program, day * 0.5)
    survivor, _ = do_merge(new_member("m-a", "a@example.com", program), gone, program)
    s = survivor.member
    assert s.balance.pending == 20 == sum(lot.points for lot in s.lots if lot.pending)
    assert len(survivor.entries) <= 16
    assert sums(survivor.entries) == (0, 20)
    latest = max(lot.available_at for lot in gone.lots)  # type: ignore[type-var]
    assert max(lot.available_at for lot in s.lots) == latest  # type: ignore[type-var]


def test_a_debt_moves_too_and_is_paid_from_the_survivors_points(demo: ProgramDef) -> None:
    kept = buy(new_member("m-a", "a@example.com", demo), "100", demo)
    gone = replace(
        new_member("m-b", "b@example.com", demo),
        balance=replace(kept.balance, available=-40, pending=0, lifetime=0),
    )
    survivor, tombstone = do_merge(kept, gone, demo)
    s = survivor.member
    assert s.balance.available == 60 == sum(lot.points for lot in s.lots)
    assert sums(survivor.entries) == (-40, 0) and sums(tombstone.entries) == (40, 0)


def test_the_tier_is_recomputed_from_both_and_never_lowered(demo: ProgramDef) -> None:
    kept = buy(new_member("m-a", "a@example.com", demo), "300", demo)
    gone = buy(new_member("m-b", "b@example.com", demo), "300", demo)
    assert kept.tier.tier_id == gone.tier.tier_id == "member"
    survivor, _ = do_merge(kept, gone, demo)
    assert survivor.member.tier.tier_id == "silver"
    assert survivor.member.tier.qualifying_points == 600
    assert ChangeKind.TIER_CHANGED in survivor.changes

    gold = buy(new_member("m-g", "g@example.com", demo), "2100", demo)
    into_member, _ = do_merge(new_member("m-n", "n@example.com", demo), gold, demo)
    assert into_member.member.tier.tier_id == "gold"
    keeps_gold, _ = do_merge(gold, new_member("m-o", "o@example.com", demo), demo)
    assert keeps_gold.member.tier.tier_id == "gold"


def test_consents_take_the_stricter_answer_and_gaps_are_filled(demo: ProgramDef) -> None:
    kept = new_member("m-a", "a@example.com", demo, first_name="Ann")
    kept = replace(kept, profile=replace(kept.profile, consents=Consents(True, True, False, True)))
    gone = new_member("m-b", "b@example.com", demo, last_name="Lee", birthday="1990-05-06")
    gone = replace(gone, profile=replace(gone.profile, consents=Consents(True, False, True, True)))
    p = do_merge(kept, gone, demo)[0].member.profile
    assert (p.first_name, p.last_name, p.birthday) == ("Ann", "Lee", "1990-05-06")
    assert p.consents == Consents(email=True, sms=False, push=False, personalization=True)
    assert p.email == "a@example.com"


def test_refusals(demo: ProgramDef) -> None:
    a = new_member("m-a", "a@example.com", demo)
    b = new_member("m-b", "b@example.com", demo)
    with pytest.raises(DomainError) as same:
        do_merge(a, a, demo)
    assert same.value.code is ErrorCode.INVALID_INPUT
    _, tombstone = do_merge(a, b, demo)
    with pytest.raises(DomainError) as again:
        do_merge(a, tombstone.member, demo)
    assert again.value.code is ErrorCode.ALREADY_MERGED
    with pytest.raises(DomainError) as into_tombstone:
        do_merge(tombstone.member, new_member("m-c", "c@example.com", demo), demo)
    assert into_tombstone.value.code is ErrorCode.ALREADY_MERGED
    assert into_tombstone.value.field == ("input", "survivorId")


@settings(max_examples=60, deadline=None)
@given(
    kept_buys=st.lists(st.integers(1, 400), max_size=6),
    gone_buys=st.lists(st.integers(1, 400), max_size=6),
    window=st.sampled_from([0, 14]),
    extra_email=st.booleans(),
)
def test_nothing_is_created_or_lost(
    demo: ProgramDef, kept_buys: list[int], gone_buys: list[int], window: int, extra_email: bool
) -> None:
    program = demo.model_copy(update={"return_window_days": window})
    kept = new_member("m-a", "a@example.com", program)
    gone = new_member("m-b", "b@example.com", program)
    for i, amount in enumerate(kept_buys):
        kept = buy(kept, str(amount), program, i)
    for i, amount in enumerate(gone_buys):
        gone = buy(gone, str(amount), program, i)
    if extra_email:
        gone = link(gone, EMAIL, "a@example.com", True, Context(now=T0, actor="t")).member
    survivor, tombstone = do_merge(kept, gone, program)
    s = survivor.member
    before = (
        kept.balance.available + gone.balance.available,
        kept.balance.pending + gone.balance.pending,
    )
    assert (s.balance.available, s.balance.pending) == before
    assert sum(lot.points for lot in s.lots if not lot.pending) == s.balance.available
    assert sum(lot.points for lot in s.lots if lot.pending) == s.balance.pending
    moved_in, moved_out = sums(survivor.entries), sums(tombstone.entries)
    assert moved_in == (gone.balance.available, gone.balance.pending)
    assert moved_out == (-gone.balance.available, -gone.balance.pending)
    assert len({(i.kind, i.value) for i in s.identifiers}) == len(s.identifiers)


def unmerge_now(
    kept: Member,
    tomb: Member,
    program: ProgramDef,
    days: float = 3,
    via: list[object] | None = None,
) -> tuple[Outcome, Outcome]:
    ctx = Context(now=T0 + timedelta(days=days), actor="agent-2")
    return unmerge(kept, tomb, via or [], program, ctx)  # type: ignore[arg-type]


def test_unmerge_gives_back_what_moved_and_both_ledgers_still_sum(demo: ProgramDef) -> None:
    kept = buy(new_member("m-a", "a@example.com", demo), "300", demo)
    gone = buy(new_member("m-b", "b@example.com", demo), "250", demo)
    survivor, tombstone = do_merge(kept, gone, demo)
    assert survivor.member.tier.tier_id == "silver"
    back_kept, restored = unmerge_now(survivor.member, tombstone.member, demo)
    k, r = back_kept.member, restored.member
    assert (k.balance.available, k.balance.pending) == (300, 0)
    assert (r.balance.available, r.balance.pending) == (250, 0)
    assert sum(lot.points for lot in k.lots) == 300 and sum(lot.points for lot in r.lots) == 250
    assert k.tier.tier_id == "member" and k.tier.qualifying_points == 300
    assert [i.value for i in k.identifiers] == ["a@example.com"]
    assert [i.value for i in r.identifiers] == ["b@example.com"]
    assert r.merged_into is None and r.merge is None and k.merged_from == ()
    assert r.version == tombstone.member.version + 1 and k.version == survivor.member.version + 1
    assert back_kept.changes[0] is ChangeKind.UNMERGED and restored.changes == (
        ChangeKind.UNMERGED,
    )
    # Merge then unmerge: each side's entries sum to nothing, so the ledgers still add up.
    assert sums(survivor.entries)[0] + sums(back_kept.entries)[0] == 0
    assert sums(tombstone.entries)[0] + sums(restored.entries)[0] == 0


def test_points_the_survivor_spent_since_are_owed_back(demo: ProgramDef) -> None:
    kept = buy(new_member("m-a", "a@example.com", demo), "100", demo)
    gone = buy(new_member("m-b", "b@example.com", demo), "200", demo)
    survivor, tombstone = do_merge(kept, gone, demo)
    ctx = Context(now=T0 + timedelta(days=2, hours=1), actor="till", channel=Channel.POS)
    book = Book(survivor.member, demo, ctx.now)
    book.spend(250, "a big redemption")
    spent = advance(survivor.member, book.apply(survivor.member), [], ctx.now)
    back_kept, restored = unmerge_now(spent, tombstone.member, demo)
    assert restored.member.balance.available == 200
    # 50 were left; the other 150 it owes: a debt or written off, as the program says.
    policy = demo.points.negative_balance
    expected = -150 if policy is NegativeBalancePolicy.ALLOW else 0
    assert back_kept.member.balance.available == expected
    assert sum(lot.points for lot in back_kept.member.lots) == 0


def test_unmerge_is_refused_after_the_window_or_for_a_live_member(demo: ProgramDef) -> None:
    kept, gone = new_member("m-a", "a@example.com", demo), new_member("m-b", "b@example.com", demo)
    survivor, tombstone = do_merge(kept, gone, demo)
    days = demo.identity.unmerge_window_days + 3
    with pytest.raises(DomainError) as late:
        unmerge_now(survivor.member, tombstone.member, demo, days=days)
    assert late.value.code is ErrorCode.INVALID_INPUT and "days" in late.value.message
    with pytest.raises(DomainError) as live:
        unmerge_now(survivor.member, kept, demo)
    assert live.value.code is ErrorCode.INVALID_INPUT


@settings(max_examples=40, deadline=None)
@given(
    kept_buys=st.lists(st.integers(1, 400), max_size=5),
    gone_buys=st.lists(st.integers(1, 400), max_size=5),
    window=st.sampled_from([0, 14]),
)
def test_merge_then_unmerge_restores_both_balances(
    demo: ProgramDef, kept_buys: list[int], gone_buys: list[int], window: int
) -> None:
    program = demo.model_copy(update={"return_window_days": window})
    kept = new_member("m-a", "a@example.com", program)
    gone = new_member("m-b", "b@example.com", program)
    for i, amount in enumerate(kept_buys):
        kept = buy(kept, str(amount), program, i)
    for i, amount in enumerate(gone_buys):
        gone = buy(gone, str(amount), program, i)
    survivor, tombstone = do_merge(kept, gone, program)
    k, r = (o.member for o in unmerge_now(survivor.member, tombstone.member, program))
    for now_, then in ((k, kept), (r, gone)):
        assert (now_.balance.available, now_.balance.pending) == (
            then.balance.available,
            then.balance.pending,
        )
        assert sum(lot.points for lot in now_.lots if lot.pending) == now_.balance.pending
        assert sum(lot.points for lot in now_.lots if not lot.pending) == now_.balance.available


def test_decision_data_of_both_accounts_is_one_persons(demo: ProgramDef) -> None:
    # Engagement is kept up by the writer's decision step; set it as it would stand.
    kept = replace(
        new_member("m-a", "a@example.com", demo),
        engagement=Engagement(
            purchases=2,
            spend=Decimal("50"),
            last_purchase_at=T0,
            mean_gap_days=10.0,
            counts={"SMS|D|2025-03-01": 1},
            cooldowns={"APP|SHOW_REWARD": T0},
        ),
    )
    gone = replace(
        new_member("m-b", "b@example.com", demo),
        engagement=Engagement(
            purchases=1,
            spend=Decimal("40"),
            last_purchase_at=T0 + timedelta(days=1),
            mean_gap_days=40.0,
            counts={"SMS|D|2025-03-01": 2},
            cooldowns={"APP|SHOW_REWARD": T0 + timedelta(days=3)},
        ),
    )
    e = do_merge(kept, gone, demo)[0].member.engagement
    assert (e.purchases, e.spend) == (3, Decimal("90"))
    assert e.last_purchase_at == T0 + timedelta(days=1)
    assert e.mean_gap_days == pytest.approx(20.0)  # weighted by purchases
    assert e.counts == {"SMS|D|2025-03-01": 3}  # one person's message cap
    assert e.cooldowns == {"APP|SHOW_REWARD": T0 + timedelta(days=3)}
