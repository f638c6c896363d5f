"""activities: points per kind, caps (recorded, no points, LIMIT_REACHED), zero-party data."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loyalty.activities import record_activity
from loyalty.changes import Context
from loyalty.errors import DomainError, ErrorCode
from loyalty.model import ChangeKind, LedgerEntryKind, Member
from loyalty.program import ActivityKind, Channel, ProgramDef
from tests.loyalty.conftest import T0
from tests.loyalty.ledger import Ledger

K = ActivityKind


def earned(book: Ledger, kind: ActivityKind, store_id: str | None = None, **attrs: str) -> int:
    outcome = book.activity(kind, store_id, **attrs)
    return sum(e.points for e in outcome.entries if e.kind is LedgerEntryKind.EARN)


def test_app_download_earns_once(demo: ProgramDef, member: Member) -> None:
    book = Ledger(member, demo, T0)
    assert earned(book, K.APP_DOWNLOAD) == 100
    before = book.member.version
    again = book.activity(K.APP_DOWNLOAD)
    assert again.entries == ()
    assert again.limit_reached is not None and "APP_DOWNLOAD" in again.limit_reached
    assert again.changes == (ChangeKind.ACTIVITY_RECORDED,)
    assert again.member.version == before + 1  # recorded: a new version all the same
    assert book.member.balance.available == 100


def test_store_visit_once_per_store_per_day(demo: ProgramDef, member: Member) -> None:
    book = Ledger(member, demo, T0)
    assert earned(book, K.STORE_VISIT, "s-1") == 10
    assert earned(book, K.STORE_VISIT, "s-1") == 0
    assert earned(book, K.STORE_VISIT, "s-2") == 10
    book.later(days=1)
    assert earned(book, K.STORE_VISIT, "s-1") == 10
    # yesterday's counters are dropped: the member document stays small
    assert all(T0.date().isoformat() not in key for key in book.member.counters)


def test_store_visit_needs_a_store(demo: ProgramDef, member: Member) -> None:
    with pytest.raises(DomainError) as refused:
        Ledger(member, demo, T0).activity(K.STORE_VISIT)
    assert refused.value.code is ErrorCode.INVALID_INPUT
    assert refused.value.field == ("input", "storeId")


def test_reviews_are_capped_per_calendar_month(demo: ProgramDef, member: Member) -> None:
    book = Ledger(member, demo, T0)  # 1 March
    assert [earned(book, K.REVIEW) for _ in range(4)] == [25, 25, 25, 0]
    book.now = T0.replace(month=4)
    assert earned(book, K.REVIEW) == 25


def test_social_shares_are_capped_per_iso_week(demo: ProgramDef, member: Member) -> None:
    book = Ledger(member, demo, T0)  # a Saturday
    assert [earned(book, K.SOCIAL_SHARE) for _ in range(3)] == [10, 10, 0]
    book.later(days=1)  # Sunday: the same ISO week
    assert earned(book, K.SOCIAL_SHARE) == 0
    book.later(days=1)  # Monday: a new week
    assert earned(book, K.SOCIAL_SHARE) == 10


def test_a_survey_earns_once_per_survey_id(demo: ProgramDef, member: Member) -> None:
    book = Ledger(member, demo, T0)
    assert earned(book, K.SURVEY, surveyId="nps-1") == 50
    assert earned(book, K.SURVEY, surveyId="nps-1") == 0
    assert earned(book, K.SURVEY, surveyId="nps-2") == 50
    with pytest.raises(DomainError) as refused:
        book.activity(K.SURVEY)
    assert refused.value.field == ("input", "attributes")


def test_profile_completed_keeps_the_answers_and_pays_the_challenge(
    demo: ProgramDef, member: Member
) -> None:
    book = Ledger(member, demo, T0)
    done = book.activity(K.PROFILE_COMPLETED, categories="coffee,tea", size="M")
    assert book.member.profile.answers == (("categories", "coffee,tea"), ("size", "M"))
    kinds = [(e.kind, e.points) for e in done.entries]
    assert kinds == [(LedgerEntryKind.EARN, 100), (LedgerEntryKind.BONUS, 50)]
    assert ChangeKind.PROFILE_UPDATED in done.changes
    assert ChangeKind.CHALLENGE_PROGRESSED in done.changes
    again = book.activity(K.PROFILE_COMPLETED, categories="shoes")
    assert again.limit_reached is not None
    assert book.member.profile.answers == (("categories", "coffee,tea"), ("size", "M"))


@pytest.mark.parametrize("kind", [K.SUPPORT_CONTACT, K.APP_SESSION, K.PRODUCT_VIEW, K.REFERRAL])
def test_behaviour_is_recorded_without_points(
    demo: ProgramDef, member: Member, kind: ActivityKind
) -> None:
    book = Ledger(member, demo, T0)
    for _ in range(3):
        outcome = book.activity(kind)
        assert outcome.entries == ()
        assert outcome.limit_reached is None
        assert outcome.changes == (ChangeKind.ACTIVITY_RECORDED,)
    assert book.member.version == member.version + 3
    assert book.member.last_activity_at == T0


def test_the_tier_multiplier_applies_to_activities(demo: ProgramDef, member: Member) -> None:
    book = Ledger(member, demo, T0)
    book.buy("2000.00", "big")  # gold: x1.5
    assert book.member.tier.tier_id == "gold"
    book.later(minutes=1)
    assert earned(book, K.REVIEW) == 37  # floor(25 x 1.5)


def test_store_check_ins_complete_the_three_stores_challenge_once(
    demo: ProgramDef, member: Member
) -> None:
    book = Ledger(member, demo, T0)
    bonuses = []
    for store in ["s-1", "s-1", "s-2", "s-3", "s-4"]:
        outcome = book.activity(K.STORE_VISIT, store)
        bonuses += [e.points for e in outcome.entries if e.kind is LedgerEntryKind.BONUS]
        book.later(minutes=5)
    assert bonuses == [300]
    state = book.member.challenges["three-stores"]
    assert (state.progress, state.completed) == (3, True)
    book.now = T0 + timedelta(days=31)  # April: a new period starts from zero
    book.activity(K.STORE_VISIT, "s-1")
    assert book.member.challenges["three-stores"].progress == 1


def test_a_backdated_activity_keeps_its_time_but_counts_now(
    demo: ProgramDef, member: Member
) -> None:
    earlier = T0 - timedelta(days=40)  # in February; the cap window is March's
    ctx = Context(now=T0, actor="t", channel=Channel.WEB)
    outcome = record_activity(member, K.REVIEW, {}, demo, ctx, earlier)
    assert outcome.entries[0].occurred_at == earlier
    assert outcome.member.counters == {"REVIEW:2025-03": 1}
