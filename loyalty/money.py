"""Money amounts arrive as decimal strings; they are parsed exactly, never through float."""

from __future__ import annotations

import re
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from loyalty.errors import DomainError, ErrorCode
from loyalty.program import ProgramDef

Field = tuple[str, ...]
_PLAIN = re.compile(r"[+-]?[0-9]*\.?[0-9]*", re.ASCII)


def parse_amount(text: str, program: ProgramDef, field: Field) -> Decimal:
    """A positive amount in the program's currency, with at most the currency's decimals."""
    cleaned = text.strip()
    # Decimal() also reads "1_000" and non-ASCII digits; a till sends plain ASCII digits.
    if not _PLAIN.fullmatch(cleaned):
        raise DomainError(ErrorCode.INVALID_INPUT, f"{text!r} is not a decimal amount", field)
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise DomainError(ErrorCode.INVALID_INPUT, f"{text!r} is not a decimal amount", field)
    if not amount.is_finite() or "e" in cleaned.lower():
        raise DomainError(ErrorCode.INVALID_INPUT, "write the amount as plain digits", field)
    if amount <= 0:
        raise DomainError(ErrorCode.INVALID_INPUT, "the amount must be greater than zero", field)
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > program.currency_decimals:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"{program.currency} amounts have at most {program.currency_decimals} decimals",
            field,
        )
    if amount > program.max_purchase_amount:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"the amount is over the program's maximum of {program.max_purchase_amount}",
            field,
        )
    return amount


def check_currency(code: str, program: ProgramDef, field: Field) -> None:
    if code.strip().upper() != program.currency:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"the program runs in {program.currency}, not {code!r}",
            field,
        )


def points_value(points: int, program: ProgramDef) -> Decimal:
    """What `points` are worth in the program's currency, rounded down to the currency's unit."""
    unit = Decimal(1).scaleb(-program.currency_decimals)
    return (program.point_value * points).quantize(unit, rounding=ROUND_FLOOR)
