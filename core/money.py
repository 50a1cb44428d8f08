"""Currencies (ISO 4217, from the `iso4217` data package) and exact money helpers."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

import iso4217
from django.conf import settings
from django.core.exceptions import ValidationError

MAX_AMOUNT = Decimal("999999999999")
# Digits stored for amounts: 12 integer digits + up to 3 minor-unit digits (KWD/BHD).
AMOUNT_MAX_DIGITS = 15
AMOUNT_DECIMAL_PLACES = 3


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
