"""Duplicate candidates: which variants of identifiers and profiles match, and how they rank."""

from __future__ import annotations

from dataclasses import replace

import pytest

from loyalty.changes import Context
from loyalty.duplicates import (
    DuplicateReason,
    MatchKey,
    candidates,
    email_variant,
    match_keys,
    phone_variant,
)
from loyalty.identity import link
from loyalty.model import IdentifierKind, Member, Profile


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("jane.doe@gmail.com", "janedoe@gmail.com"),
        ("jane.doe+shop@gmail.com", "janedoe@googlemail.com"),
        ("jane+loyalty@example.com", "jane@example.com"),
        ("Jane@Example.com", "jane@example.com"),
    ],
)
def test_one_mailbox_written_differently_has_one_variant(a: str, b: str) -> None:
    assert email_variant(a) == email_variant(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [("jane.doe@example.com", "janedoe@example.com"), ("jane@example.com", "jane@example.org")],
)
def test_other_mailboxes_keep_apart(a: str, b: str) -> None:
    # Dots matter outside Gmail, and the domain always does.
    assert email_variant(a) != email_variant(b)


def test_a_number_under_another_country_code_matches() -> None:
    assert phone_variant("+31612345678") == phone_variant("+44612345678") == "612345678"
    assert phone_variant("+31612345678") != phone_variant("+31612345679")


def _with(member: Member, ctx: Context, **profile: str) -> Member:
    return replace(member, profile=replace(member.profile, **profile))  # type: ignore[arg-type]


def test_keys_cover_emails_phones_and_name_with_birthday(member: Member, ctx: Context) -> None:
    m = link(member, IdentifierKind.PHONE, "+31612345678", None, ctx).member
    m = _with(m, ctx, first_name="Jane ", last_name="DOE", birthday="1990-02-03")
    reasons = {k.reason: k.key for k in match_keys(m)}
    assert reasons == {
        DuplicateReason.SAME_EMAIL: "jane@example.com",
        DuplicateReason.SAME_PHONE: "612345678",
        DuplicateReason.SAME_NAME_AND_BIRTHDAY: "jane|doe|1990-02-03",
    }


def test_name_without_birthday_is_no_evidence(member: Member) -> None:
    m = replace(member, profile=Profile(first_name="Jane", last_name="Doe"))
    assert all(k.reason is not DuplicateReason.SAME_NAME_AND_BIRTHDAY for k in match_keys(m))


def test_a_stored_key_reads_back_as_itself() -> None:
    key = MatchKey(DuplicateReason.SAME_EMAIL, "a:b@example.com")
    assert MatchKey.parse(key.stored()) == key


def test_candidates_rank_by_evidence_and_leave_out_the_member_itself(
    member: Member, ctx: Context
) -> None:
    m = _with(member, ctx, first_name="Jane", last_name="Doe", birthday="1990-02-03")
    mine = [k.stored() for k in match_keys(m)]
    email_key, name_key = mine
    others = [
        (m.id, mine),
        ("m-b", [name_key]),
        ("m-a", [email_key, name_key, "SAME_PHONE:999"]),
        ("m-c", ["SAME_PHONE:999"]),
    ]
    found = candidates(m, others)
    assert [(c.member_id, c.reasons) for c in found] == [
        (
            "m-a",
            (DuplicateReason.SAME_EMAIL, DuplicateReason.SAME_NAME_AND_BIRTHDAY),
        ),
        ("m-b", (DuplicateReason.SAME_NAME_AND_BIRTHDAY,)),
    ]
