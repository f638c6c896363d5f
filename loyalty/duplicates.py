"""Duplicate candidates: the keys under which two members may be one person, and why.

Two accounts of one customer rarely share an identifier exactly (that is refused at link time);
they share a variant of one: the same mailbox written with a +tag or, at Gmail, with dots; the
same phone number entered under another country code; or the same name and birthday. Each
member carries these keys, so finding candidates is one indexed query.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import phonenumbers

from loyalty.model import IdentifierKind, Member

# Providers that ignore dots in the local part, so "j.doe" and "jdoe" are one mailbox.
_DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


class DuplicateReason(str, Enum):
    SAME_EMAIL = "SAME_EMAIL"
    SAME_PHONE = "SAME_PHONE"
    SAME_NAME_AND_BIRTHDAY = "SAME_NAME_AND_BIRTHDAY"


@dataclass(frozen=True)
class MatchKey:
    reason: DuplicateReason
    key: str

    def stored(self) -> str:
        return f"{self.reason.value}:{self.key}"

    @staticmethod
    def parse(stored: str) -> MatchKey:
        reason, _, key = stored.partition(":")
        return MatchKey(DuplicateReason(reason), key)


def email_variant(email: str) -> str:
    """The mailbox an address delivers to: no +tag, and no dots where the provider drops them."""
    local, _, domain = email.lower().partition("@")
    local = local.split("+", 1)[0]
    if domain in _DOTLESS_DOMAINS:
        domain = _DOTLESS_DOMAINS[domain]
        local = local.replace(".", "")
    return f"{local}@{domain}"


def phone_variant(e164: str) -> str:
    """The national number without its country code: the same digits typed under another
    region (a Dutch mobile entered at a Belgian till) still match."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return str(number.national_number)


def _folded(name: str | None) -> str:
    return " ".join((name or "").casefold().split())


def match_keys(member: Member) -> list[MatchKey]:
    if member.merged_into is not None:
        return []  # a tombstone is nobody's duplicate: it leads to its survivor
    keys: list[MatchKey] = []
    for identifier in member.identifiers:
        if identifier.kind is IdentifierKind.EMAIL:
            keys.append(MatchKey(DuplicateReason.SAME_EMAIL, email_variant(identifier.value)))
        elif identifier.kind is IdentifierKind.PHONE:
            keys.append(MatchKey(DuplicateReason.SAME_PHONE, phone_variant(identifier.value)))
    p = member.profile
    first, last = _folded(p.first_name), _folded(p.last_name)
    if first and last and p.birthday:
        keys.append(
            MatchKey(DuplicateReason.SAME_NAME_AND_BIRTHDAY, f"{first}|{last}|{p.birthday}")
        )
    return list(dict.fromkeys(keys))  # unique, in order


@dataclass(frozen=True)
class Candidate:
    member_id: str
    reasons: tuple[DuplicateReason, ...]


def candidates(member: Member, others: list[tuple[str, list[str]]]) -> list[Candidate]:
    """`others` (id, stored keys) that share a key with `member`, each with every reason it
    shares, most reasons first, then by id for a stable order."""
    mine = {k.stored() for k in match_keys(member)}
    found: list[Candidate] = []
    for other_id, stored in others:
        if other_id == member.id:
            continue
        shared = [MatchKey.parse(s).reason for s in stored if s in mine]
        reasons = tuple(r for r in DuplicateReason if r in shared)
        if reasons:
            found.append(Candidate(other_id, reasons))
    found.sort(key=lambda c: (-len(c.reasons), c.member_id))
    return found
