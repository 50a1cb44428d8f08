"""Cell values shared by the CSV and XLSX exports."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import cache, lru_cache

from core.money import currencies, minor_units

# OWASP "CSV injection": a spreadsheet reads a cell starting with one of these as a
# formula (or, for tab and CR, shifts it into one).
FORMULA_TRIGGERS = frozenset("=+-@\t\r")
TAG_SEPARATOR = ";"


def neutralise(text: str) -> str:
    """`text` with a leading apostrophe when a spreadsheet would read it as a formula."""
    if text and text[0] in FORMULA_TRIGGERS:
        return "'" + text
    return text


@cache
def decimals(currency: str) -> int:
    """The currency's minor units (2 for a code `core.money` does not know)."""
    return minor_units(currency) if currency in currencies() else 2


@cache
def quantum(currency: str) -> Decimal:
    """The smallest amount of the currency (`0.01`, `1`, `0.001`)."""
    return Decimal(1).scaleb(-decimals(currency))


def rounded(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half up to the currency's minor units (as `core.money.quantize`)."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def amount_text(amount: Decimal, currency: str) -> str:
    """Exactly `core.money.format_amount` (`12.50`, `1500`, `1.250`), with the quantum
    cached per currency: it runs twice per row of a million-row export.

    `str` of a Decimal quantized to at most 4 places never uses exponent notation.
    """
    return str(amount.quantize(quantum(currency), rounding=ROUND_HALF_UP))


@lru_cache(maxsize=4096)
def rate_text(rate: Decimal) -> str:
    """An exchange rate without trailing zeros (`1`, `0.9234`); cached, as one rate
    repeats on every record of its currency and day."""
    return format(rate.normalize(), "f")
