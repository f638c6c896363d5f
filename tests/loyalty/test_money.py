"""money: amounts are parsed exactly from decimal strings and checked against the program."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.errors import DomainError, ErrorCode
from loyalty.money import check_currency, parse_amount, points_value
from loyalty.program import ProgramDef, parse_program

FIELD = ("input", "amount")

YEN = parse_program(
    """
[program]
name = "Yen"
currency = "JPY"
currency_decimals = 0
point_value = "1"
earn_rate = "0.01"
max_purchase_amount = "1000000"

[[tiers]]
id = "base"
name = "Base"
threshold = 0
earn_multiplier = "1"
"""
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.50", Decimal("12.50")),
        ("0.01", Decimal("0.01")),
        ("10000.00", Decimal("10000.00")),
        ("  7.5 ", Decimal("7.5")),
        ("42", Decimal("42")),
    ],
)
def test_parse_amount_accepts(demo: ProgramDef, text: str, expected: Decimal) -> None:
    amount = parse_amount(text, demo, FIELD)
    assert amount == expected
    assert isinstance(amount, Decimal)
    assert str(amount) == str(expected)  # exact: no float round trip


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "0.00",
        "-1",
        "-0.01",
        "abc",
        "",
        "1e3",
        "1E3",
        "NaN",
        "Infinity",
        "-Infinity",
        "12.345",
        "0.001",
        "10000.01",
        "99999",
        "1,50",
        "12.50 EUR",
    ],
)
def test_parse_amount_refuses(demo: ProgramDef, text: str) -> None:
    with pytest.raises(DomainError) as info:
        parse_amount(text, demo, FIELD)
    assert info.value.code is ErrorCode.INVALID_INPUT
    assert info.value.field == FIELD


def test_parse_amount_carries_the_field_passed_in(demo: ProgramDef) -> None:
    field = ("input", "lines", "3", "price")
    with pytest.raises(DomainError) as info:
        parse_amount("12.345", demo, field)
    assert info.value.field == field
    assert "EUR amounts have at most 2 decimals" in info.value.message


def test_parse_amount_over_max_names_the_maximum(demo: ProgramDef) -> None:
    with pytest.raises(DomainError, match=r"maximum of 10000\.00"):
        parse_amount("10000.01", demo, FIELD)


def test_parse_amount_follows_the_currency_decimals() -> None:
    assert parse_amount("1500", YEN, FIELD) == Decimal("1500")
    with pytest.raises(DomainError) as info:
        parse_amount("1500.5", YEN, FIELD)
    assert info.value.code is ErrorCode.INVALID_INPUT
    assert "JPY amounts have at most 0 decimals" in info.value.message


@pytest.mark.parametrize("text", ["1_000", "\u0661\u0662", "\uff11\uff12"])
def test_parse_amount_refuses_non_plain_digits(demo: ProgramDef, text: str) -> None:
    with pytest.raises(DomainError):
        parse_amount(text, demo, FIELD)


@given(cents=st.integers(min_value=1, max_value=1_000_000))
def test_parse_amount_round_trips_every_valid_cent_amount(demo: ProgramDef, cents: int) -> None:
    text = f"{cents // 100}.{cents % 100:02d}"
    amount = parse_amount(text, demo, FIELD)
    assert amount == Decimal(cents) / 100
    assert str(amount) == text


@given(cents=st.integers(min_value=1_000_001, max_value=10**12))
def test_parse_amount_refuses_every_amount_over_the_maximum(demo: ProgramDef, cents: int) -> None:
    with pytest.raises(DomainError) as info:
        parse_amount(f"{cents // 100}.{cents % 100:02d}", demo, FIELD)
    assert info.value.code is ErrorCode.INVALID_INPUT


@given(
    value=st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False),
        st.decimals(min_value=-1, max_value=20000, places=2),
        st.decimals(min_value=-1, max_value=20000, places=3),
    )
)
def test_parse_amount_accepts_exactly_the_valid_amounts(demo: ProgramDef, value: Decimal) -> None:
    text = str(value)
    valid = (
        "e" not in text.lower()
        and Decimal(0) < value <= demo.max_purchase_amount
        and -int(value.as_tuple().exponent) <= 2
    )
    if valid:
        assert parse_amount(text, demo, FIELD) == value
    else:
        with pytest.raises(DomainError):
            parse_amount(text, demo, FIELD)


@pytest.mark.parametrize("code", ["EUR", "eur", " EUR "])
def test_check_currency_accepts_the_program_currency(demo: ProgramDef, code: str) -> None:
    check_currency(code, demo, ("input", "currency"))


@pytest.mark.parametrize("code", ["USD", "GBP", "", "EU", "EURO"])
def test_check_currency_refuses_other_currencies(demo: ProgramDef, code: str) -> None:
    field = ("input", "currency")
    with pytest.raises(DomainError) as info:
        check_currency(code, demo, field)
    assert info.value.code is ErrorCode.INVALID_INPUT
    assert info.value.field == field
    assert "the program runs in EUR" in info.value.message


def test_points_value(demo: ProgramDef) -> None:
    assert points_value(150, demo) == Decimal("1.50")
    assert str(points_value(150, demo)) == "1.50"
    assert points_value(0, demo) == Decimal("0.00")
    assert points_value(1, demo) == Decimal("0.01")
    assert points_value(2500, demo) == Decimal("25.00")


def test_points_value_rounds_down_to_the_currency_unit() -> None:
    tenth = parse_program(
        """
[program]
name = "Tenth"
currency = "EUR"
point_value = "0.001"
earn_rate = "1"
max_purchase_amount = "100.00"

[[tiers]]
id = "base"
name = "Base"
threshold = 0
earn_multiplier = "1"
"""
    )
    assert points_value(1999, tenth) == Decimal("1.99")
    assert points_value(9, tenth) == Decimal("0.00")


@given(points=st.integers(min_value=0, max_value=2**31 - 1))
def test_points_value_is_exact_for_whole_cents(demo: ProgramDef, points: int) -> None:
    assert points_value(points, demo) == Decimal(points) / 100
