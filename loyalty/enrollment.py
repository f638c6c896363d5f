"""Enrolment and profile changes."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime

from loyalty.changes import Context, Outcome, advance
from loyalty.errors import DomainError, ErrorCode
from loyalty.model import (
    Balance,
    ChangeKind,
    Consents,
    Identifier,
    IdentifierKind,
    Member,
    Profile,
    TierState,
)
from loyalty.points import dormant_at
from loyalty.program import Channel, ProgramDef
from loyalty.purchases import welcome_bonus

MAX_NAME = 100


def parse_birthday(text: str | None, today: date, field: tuple[str, ...]) -> str | None:
    """A YYYY-MM-DD date in the past (and not absurdly long ago), or None for none given."""
    if text is None or text.strip() == "":
        return None
    # fromisoformat also reads compact and week dates; the contract says YYYY-MM-DD.
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip(), re.ASCII):
        raise DomainError(ErrorCode.INVALID_INPUT, "a birthday is written YYYY-MM-DD", field)
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise DomainError(ErrorCode.INVALID_INPUT, "a birthday is written YYYY-MM-DD", field)
    if day >= today or day.year < today.year - 130:
        raise DomainError(ErrorCode.INVALID_INPUT, "the birthday is not a plausible date", field)
    return day.isoformat()


def clean_name(text: str | None, field: tuple[str, ...]) -> str | None:
    if text is None:
        return None
    name = " ".join(text.split())
    if len(name) > MAX_NAME:
        raise DomainError(ErrorCode.INVALID_INPUT, f"at most {MAX_NAME} characters", field)
    return name or None


def merge_consents(current: Consents, given: dict[str, bool | None] | None) -> Consents:
    """Apply the consents given; one left out (None) keeps its current answer."""
    if not given:
        return current
    values = {k: v for k, v in given.items() if v is not None}
    return replace(current, **values)


def enroll(
    member_id: str,
    identifiers: list[tuple[IdentifierKind, str]],
    profile: Profile,
    program: ProgramDef,
    ctx: Context,
    referred_by: str | None = None,
) -> Outcome:
    """A new member at version 1, holding the first tier, with its identifiers linked."""
    assert ctx.channel is not None
    if not identifiers:
        raise DomainError(
            ErrorCode.INVALID_INPUT, "at least one identifier is needed", ("input", "identifiers")
        )
    linked = tuple(
        Identifier(kind=kind, value=value, verified=False, linked_at=ctx.now)
        for kind, value in identifiers
    )
    email = next((v for k, v in identifiers if k is IdentifierKind.EMAIL), None)
    phone = next((v for k, v in identifiers if k is IdentifierKind.PHONE), None)
    blank = Member(
        id=member_id,
        version=0,
        enrolled_at=ctx.now,
        enrollment_channel=ctx.channel,
        profile=replace(profile, email=email, phone=phone),
        identifiers=linked,
        balance=Balance(),
        tier=TierState(tier_id=program.tiers[0].id, qualifying_points=0, since=ctx.now),
        referred_by=referred_by,
    )
    changes = [ChangeKind.ENROLLED]
    joined, entries = welcome_bonus(blank, program, ctx)
    if entries:
        changes.append(ChangeKind.POINTS_EARNED)
    joined = replace(joined, dormant_at=dormant_at(ctx.now, program))
    return Outcome(
        member=advance(blank, joined, changes, ctx.now),
        changes=tuple(changes),
        entries=entries,
        store_id=ctx.store_id,
    )


def update_profile(member: Member, profile: Profile, ctx: Context) -> Outcome:
    changes = [ChangeKind.PROFILE_UPDATED]
    after = replace(member, profile=profile)
    return Outcome(member=advance(member, after, changes, ctx.now), changes=tuple(changes))


@dataclass(frozen=True)
class ProfileChanges:
    """Checked profile changes: only the fields given, already cleaned."""

    fields: dict[str, object]
    consents: dict[str, bool | None] | None


def profile_changes(
    *,
    first_name: str | None,
    last_name: str | None,
    birthday: str | None,
    preferred_channel: Channel | None,
    preferred_store_id: str | None,
    consents: dict[str, bool | None] | None,
    today: datetime,
) -> ProfileChanges:
    """Check the fields given (None = left out); a blank name clears it."""
    fields: dict[str, object] = {}
    if first_name is not None:
        fields["first_name"] = clean_name(first_name, ("input", "firstName"))
    if last_name is not None:
        fields["last_name"] = clean_name(last_name, ("input", "lastName"))
    if birthday is not None:
        fields["birthday"] = parse_birthday(birthday, today.date(), ("input", "birthday"))
    if preferred_channel is not None:
        fields["preferred_channel"] = preferred_channel
    if preferred_store_id:
        fields["preferred_store_id"] = preferred_store_id
    return ProfileChanges(fields, consents)


def apply_changes(current: Profile, changes: ProfileChanges) -> Profile:
    changed = replace(current, **changes.fields)  # type: ignore[arg-type]
    return replace(changed, consents=merge_consents(current.consents, changes.consents))


def profile_with(
    current: Profile,
    *,
    first_name: str | None,
    last_name: str | None,
    birthday: str | None,
    preferred_channel: Channel | None,
    preferred_store_id: str | None,
    consents: dict[str, bool | None] | None,
    today: datetime,
) -> Profile:
    """The profile with the fields given replaced; a field left out (None) keeps its value."""
    changes = profile_changes(
        first_name=first_name,
        last_name=last_name,
        birthday=birthday,
        preferred_channel=preferred_channel,
        preferred_store_id=preferred_store_id,
        consents=consents,
        today=today,
    )
    return apply_changes(current, changes)
