"""identity.normalise: every way a customer is known reduces to one canonical value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.errors import DomainError, ErrorCode
from loyalty.identity import normalise
from loyalty.model import IdentifierKind
from loyalty.program import ProgramDef

FIELD = ("input", "identifiers", "0", "value")
OPAQUE_KINDS = [IdentifierKind.DEVICE_TOKEN, IdentifierKind.WEB_COOKIE, IdentifierKind.EXTERNAL_ID]


def refused(kind: IdentifierKind, value: str, region: str = "NL") -> DomainError:
    with pytest.raises(DomainError) as info:
        normalise(kind, value, region, FIELD)
    assert info.value.code is ErrorCode.INVALID_INPUT
    assert info.value.field == FIELD
    return info.value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  Jane.Doe@Example.COM ", "jane.doe@example.com"),
        ("jane@example.com", "jane@example.com"),
        ("JANE+LOYALTY@SHOP.EXAMPLE.ORG", "jane+loyalty@shop.example.org"),
        ("\tjan@example.nl\n", "jan@example.nl"),
    ],
)
def test_emails_are_lower_cased_and_trimmed(value: str, expected: str) -> None:
    assert normalise(IdentifierKind.EMAIL, value, "NL", FIELD) == expected


@pytest.mark.parametrize(
    "value", ["", "   ", "jane", "jane@", "@example.com", "jane@example", "jane doe@example.com"]
)
def test_invalid_emails_are_refused(value: str) -> None:
    error = refused(IdentifierKind.EMAIL, value)
    assert "not a valid email address" in error.message


@given(
    local=st.text(alphabet="abcdefghijXYZ0123456789", min_size=1, max_size=20),
    domain=st.text(alphabet="abcdefKLMNOP", min_size=1, max_size=20),
    pad=st.text(alphabet=" \t", max_size=3),
)
def test_email_spellings_reduce_to_one_value(local: str, domain: str, pad: str) -> None:
    canonical = f"{local}@{domain}.com".lower()
    for spelling in (canonical, canonical.upper(), pad + f"{local}@{domain}.COM" + pad):
        assert normalise(IdentifierKind.EMAIL, spelling, "NL", FIELD) == canonical


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("06 12345678", "+31612345678"),
        ("06-1234 5678", "+31612345678"),
        ("+31 6 12345678", "+31612345678"),
        ("0031612345678", "+31612345678"),
        ("+44 20 7946 0958", "+442079460958"),
        (" 020 123 4567 ", "+31201234567"),
    ],
)
def test_phones_become_e164_with_default_region_nl(value: str, expected: str) -> None:
    assert normalise(IdentifierKind.PHONE, value, "NL", FIELD) == expected


def test_the_demo_region_reads_national_numbers_as_dutch(demo: ProgramDef) -> None:
    region = demo.default_phone_region
    assert normalise(IdentifierKind.PHONE, "06 12345678", region, FIELD) == "+31612345678"


def test_the_region_decides_national_numbers() -> None:
    assert normalise(IdentifierKind.PHONE, "020 7946 0958", "GB", FIELD) == "+442079460958"


@pytest.mark.parametrize("value", ["", "12", "abc", "06 1234", "+31 6 1234567890123", "+999 1234"])
def test_invalid_phones_are_refused(value: str) -> None:
    error = refused(IdentifierKind.PHONE, value)
    assert "phone number" in error.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1234 5678 9012", "123456789012"),
        ("1234-5678-9012", "123456789012"),
        (" 123456 ", "123456"),
        ("12 34-56\t78", "12345678"),
    ],
)
def test_loyalty_cards_strip_spaces_and_dashes(value: str, expected: str) -> None:
    assert normalise(IdentifierKind.LOYALTY_CARD, value, "NL", FIELD) == expected


@pytest.mark.parametrize("value", ["12345", "1" * 21, "1234 56A8", "", "1234.5678"])
def test_invalid_loyalty_cards_are_refused(value: str) -> None:
    error = refused(IdentifierKind.LOYALTY_CARD, value)
    assert "6 to 20 digits" in error.message


@pytest.mark.parametrize("kind", OPAQUE_KINDS)
@pytest.mark.parametrize("value", ["abc def", "tab\tinside", "", "x" * 201, "caf\u00e9"])
def test_opaque_kinds_refuse_spaces_and_odd_values(kind: IdentifierKind, value: str) -> None:
    error = refused(kind, value)
    assert kind.value in error.message


@pytest.mark.parametrize("kind", OPAQUE_KINDS)
def test_opaque_kinds_are_kept_as_given_but_trimmed(kind: IdentifierKind) -> None:
    assert normalise(kind, "  Dev-1:ab/CD+e=_.x ", "NL", FIELD) == "Dev-1:ab/CD+e=_.x"
    assert normalise(kind, "x" * 200, "NL", FIELD) == "x" * 200


@given(digits=st.text(alphabet="0123456789", min_size=6, max_size=20), data=st.data())
def test_card_separators_never_change_the_number(digits: str, data: st.DataObject) -> None:
    separators = data.draw(st.lists(st.sampled_from([" ", "-", ""]), min_size=len(digits)))
    spelled = "".join(d + s for d, s in zip(digits, separators, strict=False))
    assert normalise(IdentifierKind.LOYALTY_CARD, spelled, "NL", FIELD) == digits
