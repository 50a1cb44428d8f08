"""Admin columns shared by every app's ModelAdmin."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models

from .money import format_amount


def _follow(obj: Any, path: str) -> Any:
    """The value at a `__`-separated attribute path (`user__base_currency`), or None."""
    for name in path.split("__"):
        obj = getattr(obj, name, None)
        if obj is None:
            return None
    return obj


class MoneyColumn:
    """An admin column showing an amount with its currency's minor units and code
    (`12.50 EUR`, `1500 JPY`, `1.250 BHD`), as the API renders it (`format_amount`).

    Used by name (`amount_shown = money_column(...)` in the ModelAdmin body, then
    `"amount_shown"` in `list_display` or `readonly_fields`); a plain callable object,
    so Django calls it with the row and never binds it to the ModelAdmin. Sorting the
    column sorts by the stored amount. The currency path may cross relations
    (`user__base_currency`): the ModelAdmin selects them in `list_select_related`.
    """

    def __init__(self, amount_field: str, currency_field: str, description: str) -> None:
        self.amount_field = amount_field
        self.currency_field = currency_field
        self.short_description = description
        self.admin_order_field = amount_field
        self.__name__ = f"{amount_field}_shown"

    def __call__(self, obj: models.Model) -> str | None:
        amount = _follow(obj, self.amount_field)
        currency = _follow(obj, self.currency_field)
        if amount is None:
            return None  # the ModelAdmin's empty value display
        if not currency:
            return format(Decimal(amount), "f")
        return f"{format_amount(Decimal(amount), currency)} {currency}"


def money_column(
    amount_field: str, currency_field: str, *, description: str | None = None
) -> MoneyColumn:
    """The admin column for `amount_field` in the currency named at `currency_field`
    (a field, or a path such as `user__base_currency` for base-currency amounts)."""
    name = amount_field.rsplit("__", 1)[-1].replace("_", " ")
    return MoneyColumn(amount_field, currency_field, description or name)


class TruncatedColumn:
    """A free-text column cut to `length` characters, so one long value cannot widen
    a list page; the full text is on the change page. Used by name like `MoneyColumn`."""

    def __init__(self, field: str, length: int, description: str) -> None:
        self.field = field
        self.length = length
        self.short_description = description
        self.admin_order_field = field
        self.__name__ = f"{field}_short"

    def __call__(self, obj: models.Model) -> str:
        text = str(_follow(obj, self.field) or "")
        return text if len(text) <= self.length else text[: self.length - 1] + "…"


def truncated_column(
    field: str, length: int = 40, *, description: str | None = None
) -> TruncatedColumn:
    """The admin column for free text at `field` (a path may cross relations)."""
    return TruncatedColumn(
        field, length, description or field.rsplit("__", 1)[-1].replace("_", " ")
    )
