"""The `recurring` section: recurring items, when the `recurring` app is installed.

The backups app does not know that model's fields in advance, so the section is
built from the model's concrete fields (all but id, owner and timestamps): decimals
and dates as strings, a foreign key to Category as a category reference, everything
else as its JSON value. A restore converts with each field's `to_python` and checks
every item with `full_clean()` (validators and database constraints). Without the
app the section is an empty list, and a backup carrying items cannot be restored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models

from categories.models import Category, Kind
from core.dates import DATE_RANGE_MESSAGE, date_in_range
from core.money import MoneyParseError, amount_errors, format_amount, is_currency, parse_money

APP_LABEL, MODEL_NAME = "recurring", "RecurringItem"
OWNER_FIELD = "user"
_NOT_BACKED_UP = frozenset({OWNER_FIELD, "created_at", "updated_at"})

AddError = Callable[[tuple[str | int, ...], str], None]
ReadRef = Callable[..., Any]


@dataclass
class RecurringValues:
    index: int
    values: dict[str, Any]  # field name → Python value; a category field holds a CategoryRef


def recurring_model() -> type[models.Model] | None:
    if not apps.is_installed(APP_LABEL):
        return None
    try:
        model = apps.get_model(APP_LABEL, MODEL_NAME)
    except LookupError:
        return None
    names = {f.name for f in model._meta.concrete_fields}
    return model if OWNER_FIELD in names else None


def backed_up_fields(model: type[models.Model]) -> list[models.Field]:
    """Fields copied to and from a backup: plain values and foreign keys to Category."""
    fields = []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.name in _NOT_BACKED_UP:
            continue
        if field.is_relation and field.related_model is not Category:
            continue
        fields.append(field)
    return fields


def _json_value(item: models.Model, field: models.Field, refs: dict[int, Any]) -> Any:
    value = getattr(item, field.attname)
    if field.is_relation:
        return refs.get(value) if value is not None else None
    if isinstance(value, Decimal):
        currency = getattr(item, "currency", None)
        if field.name == "amount" and isinstance(currency, str) and is_currency(currency):
            return format_amount(value, currency)
        return format(value, "f")
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, models.Model):  # pragma: no cover - relations handled above
        return value.pk
    return value


def export_rows(user: Any, refs: dict[int, Any]) -> Iterator[dict[str, Any]]:
    """The user's recurring items, oldest first; nothing without the app."""
    model = recurring_model()
    if model is None:
        return
    fields = backed_up_fields(model)
    queryset = model._default_manager.filter(**{OWNER_FIELD: user}).order_by("pk")
    for item in queryset.iterator(chunk_size=1000):
        yield {field.name: _json_value(item, field, refs) for field in fields}


def parse_section(
    raw: list[Any], *, add_error: AddError, read_ref: ReadRef
) -> list[RecurringValues]:
    """Convert each item's values; problems go to `add_error` under recurring.<i>.<field>."""
    if not raw:
        return []
    model = recurring_model()
    if model is None:
        add_error(
            ("recurring",),
            f"This server has no recurring items, so these {len(raw)} cannot be restored.",
        )
        return []
    fields = {field.name: field for field in backed_up_fields(model)}
    items: list[RecurringValues] = []
    for index, data in enumerate(raw):
        path: tuple[str | int, ...] = ("recurring", index)
        if not isinstance(data, dict):
            add_error(path, "Must be a JSON object.")
            continue
        ok = True
        values: dict[str, Any] = {}
        for key, value in data.items():
            field = fields.get(key)
            if field is None:
                add_error((*path, str(key)), "Unknown field.")
                ok = False
            elif field.is_relation:
                kind = data.get("kind") if data.get("kind") in Kind.values else None
                ref = read_ref(value, (*path, key), kind=kind, nullable=field.null)
                if value is not None and ref is None:
                    ok = False
                values[key] = ref
            else:
                try:
                    values[key] = _to_python(field, value)
                except ValidationError as exc:
                    for message in exc.messages:
                        add_error((*path, key), message)
                    ok = False
        amount, currency = values.get("amount"), values.get("currency")
        if isinstance(amount, Decimal) and isinstance(currency, str):
            for message in amount_errors(amount, currency):
                add_error((*path, "amount"), message)
                ok = False
        if ok:
            items.append(RecurringValues(index, values))
    return items


def _to_python(field: models.Field, value: Any) -> Any:
    """A field's value from JSON: decimals by the project's one number grammar, dates
    only inside the supported range; anything else by the field's own `to_python`."""
    if isinstance(field, models.DecimalField) and value is not None:
        try:
            value = parse_money(value)
        except MoneyParseError as exc:
            raise ValidationError(str(exc)) from None
    parsed = field.to_python(value)
    is_day = isinstance(parsed, date) and not isinstance(parsed, datetime)
    if is_day and not date_in_range(parsed):
        raise ValidationError(DATE_RANGE_MESSAGE)
    return parsed


def build(
    model: type[models.Model], owner: Any, item: RecurringValues, resolve: Callable[[Any], Any]
) -> models.Model:
    """An unsaved item for `owner`, not yet checked (call `full_clean()`)."""
    values = {
        name: resolve(value) if model._meta.get_field(name).is_relation else value
        for name, value in item.values.items()
    }
    return model(**{OWNER_FIELD: owner}, **values)
