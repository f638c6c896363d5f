"""identity.link / identity.unlink: which identifiers find a member, and what the profile shows."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from loyalty.changes import Context
from loyalty.errors import DomainError, ErrorCode
from loyalty.identity import MAX_IDENTIFIERS, link, link_changes_nothing, unlink
from loyalty.model import ChangeKind, IdentifierKind, Member

EMAIL, PHONE, CARD = IdentifierKind.EMAIL, IdentifierKind.PHONE, IdentifierKind.LOYALTY_CARD


def values(m: Member) -> list[tuple[IdentifierKind, str, bool]]:
    return [(i.kind, i.value, i.verified) for i in m.identifiers]


def test_linking_adds_the_identifier_and_raises_the_version(member: Member, ctx: Context) -> None:
    later = replace(ctx, now=ctx.now + timedelta(hours=1))
    outcome = link(member, CARD, "4000000000099", None, later)
    after = outcome.member
    assert after.version == member.version + 1
    assert outcome.changes == (ChangeKind.IDENTIFIER_LINKED,)
    assert values(after)[-1] == (CARD, "4000000000099", False)
    assert after.identifiers[-1].linked_at == later.now
    assert after.identifiers[:-1] == member.identifiers


def test_a_second_email_does_not_replace_the_profile_email(member: Member, ctx: Context) -> None:
    assert member.profile.email is not None
    after = link(member, EMAIL, "second@example.com", True, ctx).member
    assert after.profile.email == member.profile.email


def test_linking_again_can_verify_but_never_unverify(member: Member, ctx: Context) -> None:
    held = member.identifiers[0]
    assert held.verified is False
    assert link_changes_nothing(member, held.kind, held.value, None)
    assert link_changes_nothing(member, held.kind, held.value, False)
    assert not link_changes_nothing(member, held.kind, held.value, True)
    verified = link(member, held.kind, held.value, True, ctx).member
    assert len(verified.identifiers) == len(member.identifiers)
    assert verified.identifiers[0].verified is True
    assert verified.identifiers[0].linked_at == held.linked_at
    assert link_changes_nothing(verified, held.kind, held.value, False)
    again = link(verified, held.kind, held.value, False, ctx).member
    assert again.identifiers[0].verified is True


def test_a_member_holds_a_bounded_number_of_identifiers(member: Member, ctx: Context) -> None:
    full = member
    while len(full.identifiers) < MAX_IDENTIFIERS:
        full = link(
            full, IdentifierKind.DEVICE_TOKEN, f"dev-{len(full.identifiers)}", None, ctx
        ).member
    with pytest.raises(DomainError) as refused:
        link(full, IdentifierKind.DEVICE_TOKEN, "one-too-many", None, ctx)
    assert refused.value.code is ErrorCode.INVALID_INPUT
    assert refused.value.field == ("input", "identifier")


def test_unlinking_removes_it_and_the_profile_follows(member: Member, ctx: Context) -> None:
    two = link(member, EMAIL, "other@example.com", False, ctx).member
    assert member.profile.email is not None
    outcome = unlink(two, EMAIL, member.profile.email, ctx)
    after = outcome.member
    assert outcome.changes == (ChangeKind.IDENTIFIER_UNLINKED,)
    assert after.version == two.version + 1
    assert (EMAIL, member.profile.email) not in {(k, v) for k, v, _ in values(after)}
    assert after.profile.email == "other@example.com"


def test_the_profile_prefers_a_verified_identifier_of_the_kind(
    member: Member, ctx: Context
) -> None:
    assert member.profile.email is not None
    m = link(member, EMAIL, "unverified@example.com", False, ctx).member
    m = link(
        m, EMAIL, "verified@example.com", True, replace(ctx, now=ctx.now + timedelta(1))
    ).member
    after = unlink(m, EMAIL, member.profile.email, ctx).member
    assert after.profile.email == "verified@example.com"


def test_unlinking_the_last_email_clears_the_profile_email(member: Member, ctx: Context) -> None:
    with_card = link(member, CARD, "4000000000098", None, ctx).member
    emails = [i.value for i in with_card.identifiers if i.kind is EMAIL]
    after = with_card
    for value in emails:
        after = unlink(after, EMAIL, value, ctx).member
    assert after.profile.email is None


def test_the_last_identifier_cannot_be_removed(member: Member, ctx: Context) -> None:
    only = member
    for held in member.identifiers[1:]:
        only = unlink(only, held.kind, held.value, ctx).member
    assert len(only.identifiers) == 1
    last = only.identifiers[0]
    with pytest.raises(DomainError) as refused:
        unlink(only, last.kind, last.value, ctx)
    assert refused.value.code is ErrorCode.LAST_IDENTIFIER


def test_unlinking_what_the_member_does_not_hold_is_not_found(member: Member, ctx: Context) -> None:
    with pytest.raises(DomainError) as refused:
        unlink(member, PHONE, "+31600000000", ctx)
    assert refused.value.code is ErrorCode.NOT_FOUND
    assert refused.value.field == ("input", "identifier")
