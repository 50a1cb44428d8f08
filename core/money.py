"""Currencies (ISO 4217, from the `iso4217` data package) and exact money helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

import iso4217
from django.conf import settings
from django.core.exceptions import ValidationError

MAX_AMOUNT = Decimal("999999999999")
# Digits stored for amounts: 12 integer digits + up to 4 minor-unit digits (CLF/UYW have
# 4, KWD/BHD 3). Every currency `currencies()` offers fits these columns exactly.
AMOUNT_MAX_DIGITS = 16
AMOUNT_DECIMAL_PLACES = 4

# The one grammar for a number written by a client, a backup or a statement library:
# optional sign, ASCII digits, at most one decimal point. No exponents ("1e3"), no
# underscores ("1_000"), no non-ASCII digits ("١٢"), no "NaN"/"Infinity".
_MONEY_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
# Far more than any amount or rate needs, and far below decimal's 28-digit context, so
# arithmetic on a parsed value is exact and never raises Overflow.
MAX_SIGNIFICANT_DIGITS = 24
MAX_MONEY_TEXT = 48


class MoneyParseError(ValueError):
    """A value is not a plain decimal number; the message is fit for a client."""


def parse_money(value: object) -> Decimal:
    """The one strict parser for money-like numbers (amounts, rates, thresholds).

    Accepts a string of plain decimal notation, an int, or a Decimal (JSON numbers
    arrive as Decimal, see `core.parsers`). Rejects booleans, floats, exponents,
    separators, non-ASCII digits, non-finite values and more than
    `MAX_SIGNIFICANT_DIGITS` significant digits, each with a message naming why.
    Range and decimal places are the caller's rule (`amount_errors`).
    """
    if isinstance(value, bool) or value is None:
        raise MoneyParseError("A number is required.")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise MoneyParseError("Must be a finite number.")
        # adjusted() is the position of the first digit; checked before any formatting so
        # `1E+1000000` is refused without building a million-digit string.
        if value and not -MAX_SIGNIFICANT_DIGITS <= value.adjusted() < MAX_SIGNIFICANT_DIGITS:
            raise MoneyParseError("Number is out of range.")
        text = format(value, "f")
    elif isinstance(value, int):
        text = str(value) if abs(value) < 10**MAX_SIGNIFICANT_DIGITS else ""
        if not text:
            raise MoneyParseError("Number is out of range.")
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise MoneyParseError('A number written as a string, e.g. "12.50", is required.')
    if len(text) > MAX_MONEY_TEXT:
        raise MoneyParseError(f"Number is too long (at most {MAX_MONEY_TEXT} characters).")
    if not _MONEY_TEXT.fullmatch(text):
        raise MoneyParseError(
            'A plain decimal number is required, e.g. "12.50" (digits, an optional sign '
            "and one decimal point; no exponent or separators)."
        )
    try:
        number = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the grammar above admits only valid text
        raise MoneyParseError("A plain decimal number is required.") from None
    digits = len(text.lstrip("+-").replace(".", "").lstrip("0").rstrip("0") or "0")
    if digits > MAX_SIGNIFICANT_DIGITS:
        raise MoneyParseError(f"Too many significant digits (at most {MAX_SIGNIFICANT_DIGITS}).")
    return number


@dataclass(frozen=True)
class CurrencyInfo:
    code: str
    name: str
    numeric: int
    minor_units: int


@cache
def currencies() -> dict[str, CurrencyInfo]:
    """Every ISO 4217 currency that has minor units (funds and metals excluded)."""
    return {
        c.code: CurrencyInfo(
            code=c.code, name=c.currency_name, numeric=c.number, minor_units=c.exponent
        )
        for c in iso4217.Currency
        if c.exponent is not None
    }


def is_currency(code: str) -> bool:
    return code in currencies()


def minor_units(code: str) -> int:
    return currencies()[code].minor_units


def validate_currency_code(value: str) -> None:
    if not isinstance(value, str) or value not in currencies():
        raise ValidationError(
            "%(value)s is not a supported ISO 4217 currency code (upper case, e.g. EUR).",
            code="invalid_currency",
            params={"value": value},
        )


def default_currency() -> str:
    return settings.DEFAULT_CURRENCY


def quantize(amount: Decimal, code: str) -> Decimal:
    """Round half away from zero to the currency's minor units (commercial rounding)."""
    exponent = Decimal(1).scaleb(-minor_units(code))
    return amount.quantize(exponent, rounding=ROUND_HALF_UP)


def decimal_places(amount: Decimal) -> int:
    """Significant decimal places: `12.50` has 1, `12.345` has 3, `100` has 0."""
    exponent = amount.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def amount_errors(amount: Decimal, currency: str) -> list[str]:
    """Why `amount` is not a valid amount of `currency` (SPEC §3); empty when it is."""
    errors = []
    if not amount.is_finite():
        return ["Amount must be a finite number."]
    if amount <= 0:
        errors.append("Amount must be greater than 0.")
    if amount > MAX_AMOUNT:
        errors.append(f"Amount must be at most {MAX_AMOUNT}.")
    if currency in currencies():
        allowed = minor_units(currency)
        if decimal_places(amount) > allowed:
            plural = "s" if allowed != 1 else ""
            errors.append(f"{currency} amounts allow at most {allowed} decimal place{plural}.")
    return errors


def format_amount(amount: Decimal, currency: str) -> str:
    """Render with exactly the currency's minor units (`12.50`, `1500`, `1.250`)."""
    places = minor_units(currency) if currency in currencies() else 2
    return format(amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), "f")
