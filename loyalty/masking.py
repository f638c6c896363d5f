"""Masked forms of personal data, for viewers who may know a member exists but not who it is.

A masked value keeps just enough to confirm with the caller on the phone ("the address starting
with j at example.com?") and nothing that identifies them: the email's first letter and domain,
the phone's country code and last two digits (a fixed run of stars, so the length is hidden),
a name's initial, no birthday at all, an identifier's last four characters.
"""

from __future__ import annotations

import phonenumbers

from loyalty.model import IdentifierKind

STARS = "***"
PHONE_STARS = "******"
HIDDEN_BIRTHDAY = "****-**-**"


def email(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at or not local:
        return STARS
    return f"{local[0]}{STARS}@{domain}"


def phone(value: str) -> str:
    try:
        code = phonenumbers.parse(value).country_code
    except phonenumbers.NumberParseException:
        return PHONE_STARS
    digits = value.lstrip("+")
    if code is None or len(digits) < 6:
        return PHONE_STARS
    return f"+{code}{PHONE_STARS}{digits[-2:]}"


def name(value: str) -> str:
    return f"{value[0]}{STARS}" if value else value


def birthday(value: str) -> str:
    return HIDDEN_BIRTHDAY


def identifier(kind: IdentifierKind, value: str) -> str:
    if kind is IdentifierKind.EMAIL:
        return email(value)
    if kind is IdentifierKind.PHONE:
        return phone(value)
    return f"{STARS}{value[-4:]}" if len(value) > 8 else STARS
