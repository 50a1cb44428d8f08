"""How a backup section is declared: one `Section` of typed fields, from which come

- reading and validation on restore (`Section.read_all` → checked `Row`s, every problem
  recorded under its path, e.g. `expenses.12.amount`),
- writing on export (`Section.dump` → one record of the document, keys in field order;
  `Section.columns` → what a selector reads with `.values()`),
- the OpenAPI schema (`Section.serializer` → the section's component),
- restoring (`Section.stored` → the values a record takes over as they are).

Limits are never written here: each field takes them from the owning app (a model field's
`max_length`, `choices`, `default`, digits or validators, or the app's constant), so a
change there changes the backup format with it. The sections themselves are in
`document.py` (and `recurring.py`, derived from the recurring item model).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import KW_ONLY, dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from categories.models import Kind
from categories.services import NAME_MAX_LENGTH as TAG_NAME_MAX_LENGTH
from categories.services import tag_names_clean
from core.dates import DATE_RANGE_MESSAGE, MAX_DATE, MIN_DATE, date_in_range, parse_month
from core.money import (
    MAX_AMOUNT,
    MoneyParseError,
    amount_errors,
    decimal_places,
    format_amount,
    is_currency,
    parse_money,
)

Path = tuple[str | int, ...]
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MONTH_PATTERN = r"^\d{4}-\d{2}$"
MONTH_RE = re.compile(MONTH_PATTERN)
AMOUNT_HELP = (
    "Plain decimal as a string (numbers accepted), e.g. `12.50`: no exponent, separators "
    "or non-ASCII digits, at most 24 significant digits."
)
CATEGORY_REF_SCHEMA: dict[str, Any] = {
    "type": "object",
    "nullable": True,
    "description": (
        'A category of this backup, `{"key": "c1"}`; a system category, '
        '`{"system": true, "kind": "expense", "name": "Food"}` (restored to the system '
        "category of that kind and name on the target server); or null."
    ),
    "properties": {
        "key": {"type": "string"},
        "system": {"type": "boolean"},
        "kind": {"type": "string", "enum": list(Kind.values)},
        "name": {"type": "string"},
    },
}


class ErrorSink(Protocol):
    def add(self, path: Path, message: str) -> None: ...


class ReadContext(Protocol):
    """What reading a section needs besides the record: where problems go, the
    document's base currency, and how a category reference is resolved."""

    errors: ErrorSink
    base_currency: str

    def ref(self, raw: Any, path: Path, *, kind: str | None, nullable: bool) -> Any: ...


@dataclass
class WriteContext:
    """What writing a section needs: the exporting account's base currency (budgets,
    goals and base amounts are in it) and the reference of every usable category id."""

    base_currency: str
    refs: dict[int, dict[str, Any]]


# --- reading one JSON object --------------------------------------------------------


class Reader:
    """Reads one JSON object at `path`; every problem is recorded, none raised."""

    __slots__ = ("data", "errors", "is_object", "ok", "path")

    def __init__(self, errors: ErrorSink, path: Path, data: Any, keys: frozenset[str]) -> None:
        self.errors, self.path, self.ok = errors, path, True
        self.is_object = isinstance(data, dict)
        if not isinstance(data, dict):
            self.data: dict[str, Any] = {}
            self.fail_here("Must be a JSON object.")
            return
        self.data = data
        for key in data:
            if key not in keys:
                self.fail(str(key), "Unknown field.")

    def fail_here(self, message: str) -> None:
        self.ok = False
        self.errors.add(self.path, message)

    def fail(self, key: str, message: str) -> None:
        self.ok = False
        self.errors.add((*self.path, key), message)

    def _get(self, key: str, required: bool) -> tuple[bool, Any]:
        if key not in self.data:
            if required and self.is_object:
                self.fail(key, "This field is required.")
            return False, None
        return True, self.data[key]

    def string(
        self,
        key: str,
        *,
        max_length: int | None = None,
        required: bool = False,
        blank: bool = True,
        trim: bool = True,
        default: str = "",
    ) -> str:
        present, value = self._get(key, required)
        if not present:
            return default
        if not isinstance(value, str):
            self.fail(key, "Must be a string.")
            return default
        if trim:
            value = value.strip()
        if not blank and not value:
            self.fail(key, "This field may not be blank.")
        elif max_length is not None and len(value) > max_length:
            self.fail(key, f"Ensure this field has no more than {max_length} characters.")
        return value

    def choice(self, key: str, choices: Iterable[str], *, default: str | None = None) -> str:
        present, value = self._get(key, default is None)
        if not present:
            return default or ""
        choices = list(choices)
        if value not in choices:
            self.fail(key, f"Must be one of: {', '.join(choices)}.")
            return default or ""
        return value

    def boolean(self, key: str, *, default: bool) -> bool:
        present, value = self._get(key, False)
        if not present:
            return default
        if not isinstance(value, bool):
            self.fail(key, "Must be true or false.")
            return default
        return value

    def integer(self, key: str, *, low: int, high: int, default: int | None = None) -> int:
        present, value = self._get(key, default is None)
        if not present:
            return default or 0
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, "Must be an integer.")
            return default or 0
        if not low <= value <= high:
            self.fail(key, f"Must be between {low} and {high}.")
        return value

    def decimal(self, key: str, *, required: bool = True) -> Decimal | None:
        present, value = self._get(key, required)
        if not present or (value is None and not required):
            return None
        try:
            return parse_money(value)
        except MoneyParseError as exc:
            self.fail(key, str(exc))
            return None

    def day(self, key: str, *, required: bool = True) -> date | None:
        present, value = self._get(key, required)
        if not present or (value is None and not required):
            return None
        parsed = to_date(value)
        if parsed is None:
            self.fail(key, "Use a date in the form YYYY-MM-DD.")
        elif not date_in_range(parsed):
            self.fail(key, DATE_RANGE_MESSAGE)
            return None
        return parsed

    def month(self, key: str) -> date | None:
        """A budget month `YYYY-MM` → the first day of it."""
        present, value = self._get(key, True)
        if not present:
            return None
        if not isinstance(value, str) or not MONTH_RE.match(value):
            self.fail(key, "Use a month in the form YYYY-MM.")
            return None
        try:
            year, month = parse_month(value)
        except ValueError as exc:
            self.fail(key, str(exc))
            return None
        return date(year, month, 1)

    def names(self, key: str) -> list[str]:
        present, value = self._get(key, False)
        if not present:
            return []
        if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
            self.fail(key, "Must be a list of names.")
            return []
        try:
            return tag_names_clean(value)
        except DjangoValidationError as exc:
            for message in exc.messages:
                self.fail(key, message)
            return []

    def money(self, key: str, currency: str, *, required: bool = True) -> Decimal | None:
        amount = self.decimal(key, required=required)
        if amount is not None:
            for message in amount_errors(amount, currency):
                self.fail(key, message)
        return amount


def to_date(value: Any) -> date | None:
    if not isinstance(value, str) or not DATE_RE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


# --- limits, from the owning app's model fields ------------------------------------


def model_field(model: type[models.Model], name: str) -> models.Field:
    return model._meta.get_field(name)  # type: ignore[return-value]


def max_length(model: type[models.Model], name: str) -> int:
    length = model_field(model, name).max_length
    assert length is not None, f"{model.__name__}.{name} has no max_length"
    return length


def value_range(model: type[models.Model], name: str) -> tuple[int, int]:
    """The (min, max) a model field's Min/MaxValueValidators allow."""
    validators = model_field(model, name).validators
    lows = [v.limit_value for v in validators if isinstance(v, MinValueValidator)]
    highs = [v.limit_value for v in validators if isinstance(v, MaxValueValidator)]
    assert lows and highs, f"{model.__name__}.{name} is unbounded"
    return max(lows), min(highs)  # type: ignore[type-var,return-value]


def default_of(model: type[models.Model], name: str) -> Any:
    return model_field(model, name).get_default()


def choices_of(model: type[models.Model], name: str) -> tuple[tuple[str, str], ...]:
    choices = model_field(model, name).choices
    assert choices, f"{model.__name__}.{name} has no choices"
    return tuple((str(value), str(label)) for value, label in choices)


def digits_of(model: type[models.Model], name: str) -> tuple[Decimal, int]:
    """(exclusive upper bound, decimal places) a DecimalField can store."""
    field = model_field(model, name)
    assert isinstance(field, models.DecimalField)
    return Decimal(10) ** (field.max_digits - field.decimal_places), field.decimal_places


# --- fields -------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One key of a record. `required`: the key must be there (in a `partial` section
    only required keys are read when absent). `column` is where an export reads the
    value (a `.values()` column; the selector computes it when `computed`). `stored`:
    a restore stores the checked value as it is, under the same name."""

    name: str
    _: KW_ONLY
    help_text: str = ""
    required: bool = False
    column: str | None = None
    computed: bool = False
    stored: bool = True
    # Read before the other fields (others depend on it, e.g. an amount on its currency).
    read_first: bool = False

    @property
    def source(self) -> str:
        return self.column or self.name

    def load(self, reader: Reader, values: dict[str, Any], ctx: ReadContext) -> Any:
        raise NotImplementedError

    def dump(self, value: Any, source: Mapping[str, Any], ctx: WriteContext) -> Any:
        return value

    def schema(self) -> serializers.Field:
        raise NotImplementedError

    def schema_in(self, *, partial: bool) -> serializers.Field:
        """The schema field within a section; in a `partial` one only a `required`
        field is required."""
        schema = self.schema()
        if partial and not self.required and schema.required:
            # Through the constructor: DRF rebuilds bound fields from their arguments.
            schema = type(schema)(*schema._args, **{**schema._kwargs, "required": False})
        return schema

    def _help(self, default: str = "") -> dict[str, Any]:
        text = self.help_text or default
        return {"help_text": text} if text else {}


@dataclass(frozen=True, kw_only=True)
class Text(Field):
    max_length: int | None = None
    blank: bool = True
    # Whether surrounding spaces are dropped; a callable decides from the values read so far.
    trim: bool | Callable[[dict[str, Any]], bool] = True
    pattern: str | None = None
    pattern_message: str = ""
    validators: tuple[Callable[[Any], None], ...] = ()

    def load(self, reader: Reader, values: dict[str, Any], ctx: ReadContext) -> str:
        trim = self.trim(values) if callable(self.trim) else self.trim
        value = reader.string(
            self.name,
            max_length=self.max_length,
            required=self.required,
            blank=self.blank,
            trim=trim,
        )
        if self.pattern and value and not re.match(self.pattern, value):
            reader.fail(self.name, self.pattern_message)
        if self.validators and self.name in reader.data:
            for validator in self.validators:
                try:
                    validator(value)
                except DjangoValidationError as exc:
                    for message in exc.messages:
                        reader.fail(self.name, message)
        return value

    def schema(self) -> serializers.Field:
        kwargs: dict[str, Any] = {"required": self.required, **self._help()}
        if self.max_length is not None:
            kwargs["max_length"] = self.max_length
        if self.pattern:
            return serializers.RegexField(self.pattern, allow_blank=self.blank, **kwargs)
        return serializers.CharField(allow_blank=self.blank, **kwargs)


@dataclass(frozen=True, kw_only=True)
class Currency(Field):
    """An ISO 4217 code; an unknown one reads as "" (amounts are then checked as of no
    currency, so one bad code gives one message)."""

    required: bool = True
    read_first: bool = True

    def load(self, reader: Reader, values: dict[str, Any], ctx: ReadContext) -> str:
        code = reader.string(self.name, required=True, trim=False)
        if code and not is_currency(code):
            reader.fail(
                self.name,
                f"{code} is not a supported ISO 4217 currency code (upper case, e.g. EUR).",
            )
            return ""
        return code

    def schema(self) -> serializers.Field:
        return serializers.CharField(max_length=3, **self._help())


def inline_choice(choices: Iterable[tuple[str, str]], **kwargs: Any) -> serializers.ChoiceField:
    """A choice field whose enum stays inline (wrapped in `allOf`): these shapes reuse
    field names of other components (`kind`, `status`…), and drf-spectacular would
    otherwise have to invent clashing names for shared enum components."""
    choices = list(choices)
    values = [value for value, _ in choices]
    field_class = extend_schema_field({"allOf": [{"type": "string", "enum": values}]})(
        type("InlineChoiceField", (serializers.ChoiceField,), {})
    )
    kwargs.setdefault("help_text", f"One of: {', '.join(values)}.")
    return field_class(choices=choices, **kwargs)


@dataclass(frozen=True, kw_only=True)
class Choice(Field):
    choices: tuple[tuple[str, str], ...]
    default: str | None = None  # None: required

    def load(self, reader: Reader, values: dict[str, Any], ctx: ReadContext) -> str:
        return reader.choice(self.name, [value for value, _ in self.choices], default=self.default)

    def schema(self) -> serializers.Field:
        return inline_choice(self.choices, required=self.default is None, **self._help())


@dataclass(frozen=True, kw_only=True)
class Flag(Field):
    default: bool = False

    def load(self, reader: Reader, values: dict[str, Any], ctx: ReadContext) -> bool:
        return reader.boolean(self.name, default=self.default)

    def dump(self, value: Any, source: Mapping[str, Any], ctx: WriteContext) -> bool:
        return bool(value)

    def schema(self) -> serializers.Field:
        return serializers.BooleanField(required=False, **self._help())


@dataclass(frozen=True, kw_only=True)
class Integer(Field):
    low: int
    high: int
    default: int | None = None  # None: required

    def load(self, reader: Reader, values: dict[str, Any], ctx: ReadContext) -> int:
        return reader.integer(self.name, low=self.low, high=self.high, default=self.default)

    def schema(self) -> serializers.Field:
        return serializers.IntegerField(
            min_value=self.low,
            max_value=self.high,
            required=self.default is None,
            **self._help(),
        )


@dataclass(frozen=True, kw_only=True)
class Amount(Field):
    """An amount > 0 in `currency` — the record's own currency field, or None for the
    document's base currency — with that currency's decimal places."""

    currency: str | None = None

    def _currency(self, values: Mapping[str, Any], base: str) -> str:
        return base if self.currency is None else values.get(self.currency, "")

    def load(self, reader: Reader, values: dict[str, Any], ctx: ReadContext) -> Decimal | None:
        return reader.money(self.name, self._currency(values, ctx.base_currency))

    def dump(self, value: Any, source: Mapping[str, Any], ctx: WriteContext) -> str:
        return format_amount(value, self._currency(source, ctx.base_currency))

    def schema(self) -> serializers.Field:
        return serializers.CharField(**self._help(AMOUNT_HELP))


@dataclass(frozen=True, kw_only=True)
class SignedAmount(Field):
    """A non-zero amount in the base currency; negative for a withdrawal."""

    def load(self, reader: Reader, values: dict[str, Any], ctx: ReadContext) -> Decimal | None:
        amount = reader.decimal(self.name)
        if amount is None:
            return None
        if amount == 0:
            reader.fail(self.name, "Amount must not be 0.")
            return amount
        for message in amount_errors(abs(amount), ctx.base_currency):
            if message.startswith("Amount must be at most"):
                message = f"Amount must be between -{MAX_AMOUNT} and {MAX_AMOUNT}."
            reader.fail(self.name, message)
        return amount

    def dump(self, value: Any, source: Mapping[str, Any], ctx: WriteContext) -> str:
        return format_amount(value, ctx.base_currency)

    def schema(self) -> serializers.Field:
        return serializers.CharField(**self._help(AMOUNT_HELP))


@dataclass(frozen=True, kw_only=True)
class Figure(Field):
    """An optional decimal within what its model column stores: `low` < value (or ≤ with
    `zero_allowed`) < `limit`, at most `places` decimals; `upper` caps it inclusively.
    Written in base-currency units (`base`), or as its plain digits."""

    limit: Decimal
    places: int
    message: str
    zero_allowed: bool = False
    upper: Decimal | None = None
    default: Decimal | None = None
    base: bool = False  # written with the base currency's decimals
    normalize: bool = False  # written without trailing zeros

    def load(self, reader: Reader, values: dict[str, Any], ctx: ReadContext) -> Decimal | None:
        value = reader.decimal(self.name, required=False)
        if value is None:
            return self.default
        low_ok = value >= 0 if self.zero_allowed else value > 0
        high_ok = value <= self.upper if self.upper is not None else value < self.limit
        if not (low_ok and high_ok and decimal_places(value) <= self.places):
            reader.fail(self.name, self.message)
        return value

    def dump(self, value: Any, source: Mapping[str, Any], ctx: WriteContext) -> str:
        if self.base:
            return format_amount(value, ctx.base_currency)
        return format(value.normalize() if self.normalize else value, "f")

    def schema(self) -> serializers.Field:
        return serializers.CharField(required=False, **self._help())


@dataclass(frozen=True, kw_only=True)
class Day(Field):
    required: bool = True
    help_text: str = f"YYYY-MM-DD, between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}."

    def load(self, reader: Reader, values: dict[str, Any], ctx: ReadContext) -> date | None:
        return reader.day(self.name, required=self.required)

    def dump(self, value: Any, source: Mapping[str, Any], ctx: WriteContext) -> str | None:
        return value.isoformat() if value is not None else None

    def schema(self) -> serializers.Field:
        return serializers.DateField(
            required=self.required, allow_null=not self.required, **self._help()
        )


@dataclass(frozen=True, kw_only=True)
class Month(Field):
    """A budget month, `YYYY-MM` in the document, its first day once read."""

    def load(self, reader: Reader, values: dict[str, Any], ctx: ReadContext) -> date | None:
        return reader.month(self.name)

    def dump(self, value: Any, source: Mapping[str, Any], ctx: WriteContext) -> str:
        return f"{value:%Y-%m}"

    def schema(self) -> serializers.Field:
        return serializers.RegexField(MONTH_PATTERN, **self._help("YYYY-MM."))


@dataclass(frozen=True, kw_only=True)
class Names(Field):
    """Tag names, checked as the categories app checks them; written sorted."""

    computed: bool = True
    stored: bool = False

    def load(self, reader: Reader, values: dict[str, Any], ctx: ReadContext) -> list[str]:
        return reader.names(self.name)

    def dump(self, value: Any, source: Mapping[str, Any], ctx: WriteContext) -> list[str]:
        return sorted(value, key=lambda name: (name.casefold(), name))

    def schema(self) -> serializers.Field:
        return serializers.ListField(
            child=serializers.CharField(max_length=TAG_NAME_MAX_LENGTH),
            required=False,
            **self._help(),
        )


@extend_schema_field(CATEGORY_REF_SCHEMA)
class CategoryRefField(serializers.JSONField):
    pass


@dataclass(frozen=True, kw_only=True)
class Ref(Field):
    """A category reference (see `CATEGORY_REF_SCHEMA`), written from a category id.

    The category must be of `kind`, or of the kind the record's `kind_field` names.
    A `deferred` reference is resolved by `Section.read_all` once the whole section is
    read (a parent category may come after its child)."""

    kind: str | None = None
    kind_field: str | None = None
    nullable: bool = True
    deferred: bool = False
    stored: bool = False

    def expected_kind(self, data: Mapping[str, Any]) -> str | None:
        if self.kind_field is not None:
            kind = data.get(self.kind_field)
            return kind if kind in Kind.values else None
        return self.kind

    def load(self, reader: Reader, values: dict[str, Any], ctx: ReadContext) -> Any:
        if self.required and self.name not in reader.data and reader.is_object:
            reader.fail(self.name, "This field is required.")
        raw = reader.data.get(self.name)
        if self.deferred:
            return raw
        return self.resolve(reader, raw, reader.data, ctx)

    def resolve(self, reader: Reader, raw: Any, data: Mapping[str, Any], ctx: ReadContext) -> Any:
        path = (*reader.path, self.name)
        ref = ctx.ref(raw, path, kind=self.expected_kind(data), nullable=self.nullable)
        if ref is None and (raw is not None or not self.nullable):
            reader.ok = False
        return ref

    def dump(self, value: Any, source: Mapping[str, Any], ctx: WriteContext) -> Any:
        return ctx.refs.get(value) if value is not None else None

    def schema(self) -> serializers.Field:
        return CategoryRefField(required=self.required, **self._help())


@dataclass(frozen=True, kw_only=True)
class Rows(Field):
    """A list of records of another section, inside this one (a goal's contributions)."""

    section: Section
    computed: bool = True
    stored: bool = False

    def load(self, reader: Reader, values: dict[str, Any], ctx: ReadContext) -> list[Row]:
        raw = reader.data.get(self.name, [])
        if not isinstance(raw, list):
            reader.fail(self.name, "Must be a list.")
            return []
        rows, plan = [], self.section._plan()
        for index, data in enumerate(raw):
            path = (*reader.path, self.name, index)
            row = self.section.read_row(ctx, path, index, data, plan)
            if row is None:
                reader.ok = False
            else:
                rows.append(row)
        return rows

    def dump(self, value: Any, source: Mapping[str, Any], ctx: WriteContext) -> list[Any]:
        return [self.section.dump(item, ctx) for item in value]

    def schema(self) -> serializers.Field:
        return self.section.serializer()(many=True, required=False, **self._help())


@dataclass(frozen=True, kw_only=True)
class Nested(Field):
    """One object of another section, inside this one (or null, when `nullable`)."""

    section: Section
    stored: bool = False
    nullable: bool = False

    def load(
        self, reader: Reader, values: dict[str, Any], ctx: ReadContext
    ) -> dict[str, Any] | None:
        raw = reader.data.get(self.name)
        if raw is None and self.nullable:
            return None
        section = self.section
        child, row = section._read(ctx, (*reader.path, self.name), 0, raw, section._plan())
        if not child.ok:
            reader.ok = False
        return row.values

    def dump(
        self, value: Any, source: Mapping[str, Any], ctx: WriteContext
    ) -> dict[str, Any] | None:
        if value is None and self.nullable:
            return None
        return self.section.dump(value, ctx)

    def schema(self) -> serializers.Field:
        return self.section.serializer()(
            required=self.required, allow_null=self.nullable, **self._help()
        )


@dataclass(frozen=True, kw_only=True)
class Username(Field):
    """A person by username (portable between servers, unlike ids), or null: someone whose
    account is gone. Whether they are a member of the target book is the restore's check."""

    max_length: int
    stored: bool = False

    def load(self, reader: Reader, values: dict[str, Any], ctx: ReadContext) -> str | None:
        if self.required and self.name not in reader.data and reader.is_object:
            reader.fail(self.name, "This field is required.")
        raw = reader.data.get(self.name)
        if raw is None:
            return None
        if not isinstance(raw, str) or not raw.strip():
            reader.fail(self.name, "Must be a username (a non-blank string) or null.")
            return None
        if len(raw) > self.max_length:
            reader.fail(
                self.name, f"Ensure this field has no more than {self.max_length} characters."
            )
            return None
        return raw

    def schema(self) -> serializers.Field:
        return serializers.CharField(
            max_length=self.max_length,
            required=self.required,
            allow_null=True,
            **self._help("A member's username; null for someone whose account is gone."),
        )


# --- sections -----------------------------------------------------------------------


@dataclass(slots=True)
class Row:
    """One record of a section, checked: `row["name"]` is the value read for a field."""

    index: int
    values: dict[str, Any]

    def __getitem__(self, name: str) -> Any:
        return self.values[name]


Check = Callable[[Reader, int, dict[str, Any], Any], None]
Plan = tuple[tuple[Field, ...], frozenset[str]]
Finish = Callable[[list[tuple[Reader, Row]], Any], None]


class Section:
    """One part of the document: a list of records (`many`) or one object; only a
    `required` one must be in every document.

    `check(reader, index, values, ctx)` adds the rules that span fields or records;
    `finish(read, ctx)` runs once the whole section is read. A `partial` object keeps
    only the keys present (the user's settings: what is absent stays as it is)."""

    def __init__(
        self,
        name: str,
        fields: Iterable[Field] | None = None,
        *,
        component: str,
        many: bool = True,
        partial: bool = False,
        required: bool = False,
        check: Check | None = None,
        finish: Finish | None = None,
        help_text: str = "",
    ) -> None:
        self.name = name
        if fields is not None:  # else a subclass derives them (see recurring.py)
            self.fields: tuple[Field, ...] = tuple(fields)
        self.component = component
        self.many, self.partial, self.required = many, partial, required
        self.check, self.finish = check, finish
        self.help_text = help_text

    def __repr__(self) -> str:
        return f"<Section {self.name}>"

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(field.name for field in self.fields)

    def field(self, name: str) -> Field:
        return next(field for field in self.fields if field.name == name)

    # writing

    def columns(self) -> tuple[str, ...]:
        """What an export reads from the database for one record (`.values(*columns)`)."""
        return tuple(field.source for field in self.fields if not field.computed)

    def source(self, instance: Any, **computed: Any) -> dict[str, Any]:
        """An export's source record from a model instance, plus the computed values."""
        return {**{column: getattr(instance, column) for column in self.columns()}, **computed}

    def dump(self, source: Mapping[str, Any], ctx: WriteContext) -> dict[str, Any]:
        """One record of the document from its source record; keys in field order."""
        return {field.name: field.dump(source[field.source], source, ctx) for field in self.fields}

    # reading

    def read_row(self, ctx: Any, path: Path, index: int, data: Any, plan: Plan) -> Row | None:
        reader, row = self._read(ctx, path, index, data, plan)
        return row if reader.ok else None

    def _plan(self) -> Plan:
        """The fields in reading order (those others depend on first), and their names."""
        fields = self.fields
        ordered = sorted(fields, key=lambda field: not field.read_first)
        return tuple(ordered), frozenset(field.name for field in fields)

    def _read(self, ctx: Any, path: Path, index: int, data: Any, plan: Plan) -> tuple[Reader, Row]:
        ordered, names = plan
        reader = Reader(ctx.errors, path, data, names)
        present = reader.data
        values: dict[str, Any] = {}
        for field in ordered:
            if self.partial and field.name not in present and not field.required:
                continue
            values[field.name] = field.load(reader, values, ctx)
        if self.check is not None:
            self.check(reader, index, values, ctx)
        return reader, Row(index, values)

    def read_all(self, raw: Any, ctx: Any) -> list[Row]:
        """Every record of the section's list `raw` that passed its checks."""
        if not isinstance(raw, list):
            ctx.errors.add((self.name,), "Must be a list.")
            return []
        plan = self._plan()
        deferred = [field for field in plan[0] if isinstance(field, Ref) and field.deferred]
        if not deferred and self.finish is None:
            return [
                row
                for index, data in enumerate(raw)
                if (row := self.read_row(ctx, (self.name, index), index, data, plan)) is not None
            ]
        read = [
            (reader, row)
            for reader, row in (
                self._read(ctx, (self.name, index), index, data, plan)
                for index, data in enumerate(raw)
            )
            if reader.ok
        ]
        for reader, row in read:
            for field in deferred:
                row.values[field.name] = field.resolve(
                    reader, row.values[field.name], reader.data, ctx
                )
        if self.finish is not None:
            self.finish(read, ctx)
        return [row for _, row in read]

    def read_object(self, raw: Any, ctx: Any) -> dict[str, Any]:
        _, row = self._read(ctx, (self.name,), 0, raw, self._plan())
        return row.values

    # restoring

    def stored(self, row: Row) -> dict[str, Any]:
        """The row's values a restore stores as they are, under the fields' names."""
        return {
            field.name: row.values[field.name]
            for field in self.fields
            if field.stored and field.name in row.values
        }

    # the schema

    def serializer(self) -> type[serializers.Serializer]:
        return _serializer_class(self.component, self.fields, self.partial, self.help_text)

    def schema_field(self) -> serializers.Field:
        return self.serializer()(many=self.many, required=self.required)


@functools.cache
def _serializer_class(
    component: str, fields: tuple[Field, ...], partial: bool, help_text: str
) -> type[serializers.Serializer]:
    """One class per declaration, so the schema has one component per section."""
    attrs: dict[str, Any] = {"__module__": __name__}
    for field in fields:
        attrs[field.name] = field.schema_in(partial=partial)
    if help_text:
        attrs["__doc__"] = help_text
    return type(f"{component}Serializer", (serializers.Serializer,), attrs)
