"""The `recurring` section, declared from the recurring item model.

Its fields are the model's concrete fields (all but id, owner and timestamps), so a
field added to recurring items is backed up, restored and documented with no change
here: decimals and dates as strings, a foreign key to Category as a category
reference, everything else as its JSON value. A restore converts each value with its
field's `to_python`; the recurring app's `recurring_restore` checks every item with
`full_clean()` (validators and database constraints) and stores it in the book.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from rest_framework import serializers

from categories.models import Category
from core.dates import DATE_RANGE_MESSAGE, date_in_range
from core.money import MoneyParseError, amount_errors, format_amount, is_currency, parse_money
from recurring.models import RecurringItem

from .fields import (
    AMOUNT_HELP,
    Field,
    ReadContext,
    Reader,
    Ref,
    Row,
    Section,
    WriteContext,
    inline_choice,
)

# The book and the member who created an item are the restore's, not the backup's.
_NOT_BACKED_UP = frozenset({"book", "user", "created_at", "updated_at"})


def recurring_model() -> type[models.Model] | None:
    """The model the section is declared from; None leaves the section empty (a server
    without recurring items: the section is optional in the format)."""
    return RecurringItem


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


def _to_python(field: models.Field, value: Any) -> Any:
    """A field's value from JSON: decimals by the project's one number grammar, dates
    only inside the supported range; anything else by the field's own `to_python`."""
    if isinstance(field, models.DecimalField) and value is not None:
        try:
            value = parse_money(value)
        except MoneyParseError as exc:
            raise ValidationError(str(exc)) from None
    try:
        parsed = field.to_python(value)
    except (TypeError, ValueError, ArithmeticError):
        # e.g. an object where a date belongs: Django's parsers expect text.
        raise ValidationError(f"Not a valid {field.description.lower()}.") from None
    is_day = isinstance(parsed, date) and not isinstance(parsed, datetime)
    if is_day and not date_in_range(parsed):
        raise ValidationError(DATE_RANGE_MESSAGE)
    return parsed


@dataclass(frozen=True, kw_only=True)
class ModelValue(Field):
    """A plain model field's value, read and checked by the field itself."""

    model_field: models.Field

    def load(self, reader: Reader, values: dict[str, Any], ctx: ReadContext) -> Any:
        try:
            return _to_python(self.model_field, reader.data[self.name])
        except ValidationError as exc:
            for message in exc.messages:
                reader.fail(self.name, message)
            return None

    def dump(self, value: Any, source: Mapping[str, Any], ctx: WriteContext) -> Any:
        if isinstance(value, Decimal):
            currency = source.get("currency")
            if self.name == "amount" and isinstance(currency, str) and is_currency(currency):
                return format_amount(value, currency)
            return format(value, "f")
        if isinstance(value, date | datetime):
            return value.isoformat()
        return value

    def schema_in(self, *, partial: bool) -> serializers.Field:
        return self.schema()  # required as the model requires it (`full_clean` on restore)

    def schema(self) -> serializers.Field:
        field = self.model_field
        kwargs: dict[str, Any] = {
            "required": not (field.has_default() or field.null or field.blank),
            "allow_null": field.null,
        }
        if field.help_text:
            kwargs["help_text"] = str(field.help_text)
        if field.choices:
            choices = [(str(value), str(label)) for value, label in field.choices]
            return inline_choice(choices, **kwargs)
        if isinstance(field, models.DecimalField):
            return serializers.CharField(**{"help_text": AMOUNT_HELP, **kwargs})
        if isinstance(field, models.DateField):
            return serializers.DateField(**kwargs)
        if isinstance(field, models.BooleanField):
            return serializers.BooleanField(**kwargs)
        if isinstance(field, models.IntegerField):
            return serializers.IntegerField(**kwargs)
        return serializers.CharField(max_length=field.max_length, allow_blank=field.blank, **kwargs)


def _declared(field: models.Field) -> Field:
    if field.is_relation:
        return Ref(field.name, column=field.attname, kind_field="kind", nullable=field.null)
    return ModelValue(field.name, column=field.attname, model_field=field)


def _check_amount(reader: Reader, index: int, values: dict[str, Any], ctx: Any) -> None:
    amount, currency = values.get("amount"), values.get("currency")
    if isinstance(amount, Decimal) and isinstance(currency, str):
        for message in amount_errors(amount, currency):
            reader.fail("amount", message)


class RecurringSection(Section):
    """Only the keys an item has are read: `full_clean()` on restore fills in defaults
    and names what is missing."""

    def __init__(self) -> None:
        super().__init__(
            "recurring",
            component="BackupRecurringItem",
            partial=True,
            check=_check_amount,
            help_text="A recurring item: the recurring item fields, the category as a reference.",
        )

    @property
    def model(self) -> type[models.Model] | None:
        return recurring_model()

    @property  # type: ignore[override]
    def fields(self) -> tuple[Field, ...]:
        model = self.model
        return () if model is None else tuple(_declared(f) for f in backed_up_fields(model))

    def read_all(self, raw: Any, ctx: Any) -> list[Row]:
        if isinstance(raw, list) and raw and self.model is None:
            ctx.errors.add(
                (self.name,),
                f"This server has no recurring items, so these {len(raw)} cannot be restored.",
            )
            return []
        return super().read_all(raw, ctx)


RECURRING = RecurringSection()
