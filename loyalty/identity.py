"""Identifier normalisation: every way a customer is known reduces to one canonical value."""

from __future__ import annotations

import re
from dataclasses import replace

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from loyalty.changes import Context, Outcome, advance
from loyalty.errors import DomainError, ErrorCode
from loyalty.model import ChangeKind, Identifier, IdentifierKind, Member, Profile

Field = tuple[str, ...]
_OPAQUE = re.compile(r"^[A-Za-z0-9._:\-/+=]{1,200}$")
_CARD = re.compile(r"^[0-9]{6,20}$")
# Enough for every email, phone, card, device and cookie a customer plausibly has; bounds the
# member document and the work of a lookup.
MAX_IDENTIFIERS = 20


def normalise(kind: IdentifierKind, value: str, region: str, field: Field) -> str:
    """The canonical form of an identifier, or INVALID_INPUT naming `field`."""
    text = value.strip()
    if kind is IdentifierKind.EMAIL:
        return _email(text, field)
    if kind is IdentifierKind.PHONE:
        return _phone(text, region, field)
    if kind is IdentifierKind.LOYALTY_CARD:
        digits = re.sub(r"[\s-]", "", text)
        if not _CARD.match(digits):
            raise DomainError(ErrorCode.INVALID_INPUT, "a card number is 6 to 20 digits", field)
        return digits
    if not _OPAQUE.match(text):
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"a {kind.value} is 1 to 200 characters without spaces",
            field,
        )
    return text


def _email(text: str, field: Field) -> str:
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise DomainError(ErrorCode.INVALID_INPUT, f"not a valid email address: {exc}", field)
    # Mailboxes are case-insensitive in practice; one spelling must find one member.
    return result.normalized.lower()


def _phone(text: str, region: str, field: Field) -> str:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise DomainError(ErrorCode.INVALID_INPUT, f"not a phone number: {exc}", field)
    if not phonenumbers.is_valid_number(number):
        raise DomainError(ErrorCode.INVALID_INPUT, "not a valid phone number", field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def find(member: Member, kind: IdentifierKind, value: str) -> Identifier | None:
    return next((i for i in member.identifiers if i.kind is kind and i.value == value), None)


def link_changes_nothing(
    member: Member, kind: IdentifierKind, value: str, verified: bool | None
) -> bool:
    """Linking what is already linked, without newly verifying it, is a no-op."""
    held = find(member, kind, value)
    return held is not None and (held.verified or not verified)


def link(
    member: Member, kind: IdentifierKind, value: str, verified: bool | None, ctx: Context
) -> Outcome:
    """`value` (normalised) now finds `member`. Linking again may verify it, never unverify."""
    field = ("input", "identifier")
    held = find(member, kind, value)
    if held is not None:
        kept = replace(held, verified=held.verified or bool(verified))
        identifiers = tuple(kept if i is held else i for i in member.identifiers)
    else:
        if len(member.identifiers) >= MAX_IDENTIFIERS:
            raise DomainError(
                ErrorCode.INVALID_INPUT,
                f"a member holds at most {MAX_IDENTIFIERS} identifiers",
                field,
            )
        added = Identifier(kind=kind, value=value, verified=bool(verified), linked_at=ctx.now)
        identifiers = (*member.identifiers, added)
    after = replace(
        member, identifiers=identifiers, profile=contact_fields(member.profile, identifiers)
    )
    changes = [ChangeKind.IDENTIFIER_LINKED]
    return Outcome(
        member=advance(member, after, changes, ctx.now),
        changes=tuple(changes),
        details=(("kind", kind.value), ("verified", int(bool(verified)))),
    )


def unlink(member: Member, kind: IdentifierKind, value: str, ctx: Context) -> Outcome:
    """`value` no longer finds `member`; the last identifier stays, or nobody could find it."""
    held = find(member, kind, value)
    if held is None:
        raise DomainError(
            ErrorCode.NOT_FOUND, "the member has no such identifier", ("input", "identifier")
        )
    if len(member.identifiers) == 1:
        raise DomainError(
            ErrorCode.LAST_IDENTIFIER,
            "the last identifier cannot be removed: link another one first",
            ("input", "identifier"),
        )
    identifiers = tuple(i for i in member.identifiers if i is not held)
    after = replace(
        member, identifiers=identifiers, profile=contact_fields(member.profile, identifiers)
    )
    changes = [ChangeKind.IDENTIFIER_UNLINKED]
    return Outcome(
        member=advance(member, after, changes, ctx.now),
        changes=tuple(changes),
        details=(("kind", kind.value),),
    )


def contact_fields(profile: Profile, identifiers: tuple[Identifier, ...]) -> Profile:
    """The profile's email and phone follow the identifiers: kept while still linked, else the
    first one of that kind still held (verified first), else none."""

    def pick(kind: IdentifierKind, current: str | None) -> str | None:
        held = [i for i in identifiers if i.kind is kind]
        if current is not None and any(i.value == current for i in held):
            return current
        held.sort(key=lambda i: (not i.verified, i.linked_at))
        return held[0].value if held else None

    return replace(
        profile,
        email=pick(IdentifierKind.EMAIL, profile.email),
        phone=pick(IdentifierKind.PHONE, profile.phone),
    )
