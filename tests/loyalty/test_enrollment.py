"""enrollment: a new member at version 1, and profile changes that keep what is left out."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.changes import Context
from loyalty.enrollment import (
    MAX_NAME,
    clean_name,
    enroll,
    merge_consents,
    parse_birthday,
    profile_with,
    update_profile,
)
from loyalty.errors import DomainError, ErrorCode
from loyalty.identity import normalise
from loyalty.model import Balance, ChangeKind, Consents, IdentifierKind, Member, Profile
from loyalty.program import Channel, ProgramDef

TODAY = date(2025, 3, 1)
BIRTHDAY = ("input", "birthday")


def test_enroll_without_identifiers_is_invalid(demo: ProgramDef, ctx: Context) -> None:
    with pytest.raises(DomainError) as info:
        enroll("m-0", [], Profile(), demo, ctx)
    assert info.value.code is ErrorCode.INVALID_INPUT
    assert info.value.field == ("input", "identifiers")


def test_enroll(demo: ProgramDef, now: datetime) -> None:
    region = demo.default_phone_region
    email = normalise(IdentifierKind.EMAIL, " Jane.Doe@Example.COM", region, ("e",))
    phone = normalise(IdentifierKind.PHONE, "06 12345678", region, ("p",))
    ctx = Context(now=now, actor="kiosk-3", channel=Channel.KIOSK, store_id="s-2")
    given_profile = Profile(first_name="Jane", last_name="Doe", consents=Consents(email=True))
    outcome = enroll(
        "m-7",
        [
            (IdentifierKind.LOYALTY_CARD, "123456"),
            (IdentifierKind.EMAIL, email),
            (IdentifierKind.PHONE, phone),
        ],
        given_profile,
        demo,
        ctx,
    )
    member = outcome.member
    assert member.id == "m-7"
    assert member.version == 1
    assert outcome.changes == (ChangeKind.ENROLLED,)
    assert member.change_versions == {ChangeKind.ENROLLED.value: 1}
    assert member.changes_since(0) == [ChangeKind.ENROLLED]
    assert member.changes_since(1) == []
    assert member.enrolled_at == now
    assert member.last_activity_at == now
    assert member.enrollment_channel is Channel.KIOSK
    assert outcome.store_id == "s-2"
    assert member.tier.tier_id == demo.tiers[0].id == "member"
    assert member.tier.qualifying_points == 0
    assert member.tier.since == now
    assert member.balance == Balance(0, 0, 0)
    assert member.profile.email == "jane.doe@example.com"
    assert member.profile.phone == "+31612345678"
    assert member.profile.first_name == "Jane"
    assert member.profile.last_name == "Doe"
    assert member.profile.consents == Consents(email=True)
    assert [(i.kind, i.value, i.verified, i.linked_at) for i in member.identifiers] == [
        (IdentifierKind.LOYALTY_CARD, "123456", False, now),
        (IdentifierKind.EMAIL, "jane.doe@example.com", False, now),
        (IdentifierKind.PHONE, "+31612345678", False, now),
    ]
    assert outcome.entries == ()
    assert outcome.issue is None


def test_enroll_without_email_or_phone_leaves_them_empty(demo: ProgramDef, ctx: Context) -> None:
    member = enroll("m-8", [(IdentifierKind.DEVICE_TOKEN, "tok")], Profile(), demo, ctx).member
    assert member.profile.email is None
    assert member.profile.phone is None


def test_enroll_copies_the_first_email(demo: ProgramDef, ctx: Context) -> None:
    ids = [(IdentifierKind.EMAIL, "a@example.com"), (IdentifierKind.EMAIL, "b@example.com")]
    assert enroll("m-9", ids, Profile(), demo, ctx).member.profile.email == "a@example.com"


@pytest.mark.parametrize("text", [None, "", "   "])
def test_parse_birthday_none_given(text: str | None) -> None:
    assert parse_birthday(text, TODAY, BIRTHDAY) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1990-05-17", "1990-05-17"), (" 2025-02-28 ", "2025-02-28"), ("1896-01-01", "1896-01-01")],
)
def test_parse_birthday_accepts(text: str, expected: str) -> None:
    assert parse_birthday(text, TODAY, BIRTHDAY) == expected


@pytest.mark.parametrize("text", ["2025-03-01", "2025-03-02", "2099-01-01", "1894-12-31"])
def test_parse_birthday_refuses_implausible_dates(text: str) -> None:
    with pytest.raises(DomainError, match="not a plausible date") as info:
        parse_birthday(text, TODAY, BIRTHDAY)
    assert info.value.code is ErrorCode.INVALID_INPUT
    assert info.value.field == BIRTHDAY


@pytest.mark.parametrize(
    "text", ["17-05-1990", "1990/05/17", "May 17 1990", "1990-02-30", "1990-13-01", "x"]
)
def test_parse_birthday_refuses_bad_formats(text: str) -> None:
    with pytest.raises(DomainError, match="YYYY-MM-DD") as info:
        parse_birthday(text, TODAY, BIRTHDAY)
    assert info.value.code is ErrorCode.INVALID_INPUT
    assert info.value.field == BIRTHDAY


@pytest.mark.parametrize("text", ["19900517", "1990-W20-4"])
def test_parse_birthday_refuses_other_iso_formats(text: str) -> None:
    with pytest.raises(DomainError):
        parse_birthday(text, TODAY, BIRTHDAY)


@given(day=st.dates(min_value=date(1800, 1, 1), max_value=date(2200, 12, 31)))
def test_parse_birthday_accepts_exactly_the_past(day: date) -> None:
    plausible = day < TODAY and day.year >= TODAY.year - 130
    if plausible:
        assert parse_birthday(day.isoformat(), TODAY, BIRTHDAY) == day.isoformat()
    else:
        with pytest.raises(DomainError):
            parse_birthday(day.isoformat(), TODAY, BIRTHDAY)


def test_clean_name() -> None:
    assert clean_name(None, ("f",)) is None
    assert clean_name("  Jane   van  Dijk ", ("f",)) == "Jane van Dijk"
    assert clean_name("   ", ("f",)) is None
    assert clean_name("x" * MAX_NAME, ("f",)) == "x" * MAX_NAME
    with pytest.raises(DomainError) as info:
        clean_name("x" * (MAX_NAME + 1), ("input", "firstName"))
    assert info.value.code is ErrorCode.INVALID_INPUT
    assert info.value.field == ("input", "firstName")


def test_merge_consents() -> None:
    current = Consents(email=True, sms=False, push=True)
    assert merge_consents(current, None) is current
    assert merge_consents(current, {}) is current
    merged = merge_consents(current, {"email": False, "sms": True, "push": None})
    assert merged == Consents(email=False, sms=True, push=True, personalization=False)


FULL = Profile(
    first_name="Jane",
    last_name="Doe",
    email="jane@example.com",
    phone="+31612345678",
    birthday="1990-05-17",
    preferred_channel=Channel.APP,
    preferred_store_id="s-1",
    consents=Consents(email=True, sms=True),
)


def test_profile_with_keeps_fields_left_as_none(now: datetime) -> None:
    same = profile_with(
        FULL,
        first_name=None,
        last_name=None,
        birthday=None,
        preferred_channel=None,
        preferred_store_id=None,
        consents=None,
        today=now,
    )
    assert same == FULL


def test_profile_with_replaces_given_fields_and_merges_consents(now: datetime) -> None:
    changed = profile_with(
        FULL,
        first_name="  Janet ",
        last_name=None,
        birthday="1991-01-02",
        preferred_channel=Channel.POS,
        preferred_store_id=None,
        consents={"sms": False, "push": True, "email": None},
        today=now,
    )
    assert changed.first_name == "Janet"
    assert changed.last_name == "Doe"
    assert changed.birthday == "1991-01-02"
    assert changed.preferred_channel is Channel.POS
    assert changed.preferred_store_id == "s-1"
    assert changed.email == FULL.email
    assert changed.phone == FULL.phone
    assert changed.consents == Consents(email=True, sms=False, push=True, personalization=False)


def test_profile_with_clears_a_name_given_as_blank(now: datetime) -> None:
    changed = profile_with(
        FULL,
        first_name=" ",
        last_name=None,
        birthday="",
        preferred_channel=None,
        preferred_store_id=None,
        consents=None,
        today=now,
    )
    assert changed.first_name is None
    assert changed.birthday is None
    assert changed.last_name == "Doe"


def test_profile_with_checks_the_birthday_against_today(now: datetime) -> None:
    tomorrow = (now + timedelta(days=1)).date().isoformat()
    with pytest.raises(DomainError) as info:
        profile_with(
            FULL,
            first_name=None,
            last_name=None,
            birthday=tomorrow,
            preferred_channel=None,
            preferred_store_id=None,
            consents=None,
            today=now,
        )
    assert info.value.field == BIRTHDAY


def test_update_profile_raises_the_version(member: Member, now: datetime) -> None:
    ctx = Context(now=now + timedelta(days=2), actor="t", channel=Channel.WEB)
    outcome = update_profile(member, FULL, ctx)
    assert outcome.member.version == member.version + 1
    assert outcome.member.profile == FULL
    assert outcome.changes == (ChangeKind.PROFILE_UPDATED,)
    assert outcome.member.changes_since(member.version) == [ChangeKind.PROFILE_UPDATED]
    assert outcome.member.change_versions[ChangeKind.ENROLLED.value] == 1
    assert outcome.member.last_activity_at == ctx.now
