"""Identifier normalisation: every way a customer is known reduces to one canonical value."""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from loyalty.errors import DomainError, ErrorCode
from loyalty.model import IdentifierKind

Field = tuple[str, ...]
_OPAQUE = re.compile(r"^[A-Za-z0-9._:\-/+=]{1,200}$")
_CARD = re.compile(r"^[0-9]{6,20}$")


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
