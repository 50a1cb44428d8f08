"""Reads behind the exports (SPEC §11): filtered records as value tuples, chunk by chunk.

A record export runs one `values_list` query read through `.iterator()` (a server-side
cursor on PostgreSQL) `CHUNK_SIZE` rows at a time, plus one query for the tags of each
chunk. It costs 1 + ⌈rows / CHUNK_SIZE⌉ queries and holds one chunk in memory, whatever
the number of rows. Totals are left to the database (`kind_totals`).

The values come as the file needs them (`text_chunks` for CSV, `sheet_chunks` for XLSX),
rendered by the database where it can: building a million Decimals and aware datetimes
in Python only to format them again costs more than writing the rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Generator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import islice
from typing import Any

from django.db import connections
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    F,
    Func,
    IntegerField,
    Max,
    Min,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from core.money import currencies, quantize

from .formatting import amount_text, decimals, rate_text

CHUNK_SIZE = 2000


class IsoDate(Func):
    """A date as `YYYY-MM-DD` text, written by the database."""

    output_field = CharField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="to_char(%(expressions)s, 'YYYY-MM-DD')")

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # `%` is doubled twice, as in Django's own Now(): once for this template, once
        # for the query's parameters.
        return self.as_sql(
            compiler, connection, template="strftime('%%%%Y-%%%%m-%%%%d', %(expressions)s)"
        )


class IsoTimestamp(Func):
    """A timestamp as ISO 8601 text in UTC with milliseconds (`2026-03-01T09:30:00.250Z`),
    written by the database: parsing a million timestamps into aware datetimes and
    formatting them back costs more than the rest of a CSV row."""

    output_field = CharField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = (
            "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
        )
        return self.as_sql(compiler, connection, template=template)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django stores aware datetimes in SQLite as UTC text.
        template = "strftime('%%%%Y-%%%%m-%%%%dT%%%%H:%%%%M:%%%%fZ', %(expressions)s)"
        return self.as_sql(compiler, connection, template=template)


class SerialDay(Func):
    """A date column as a spreadsheet serial day number (an integer): days since
    1899-12-30, one less before 1900-03-01 since Excel counts a 1900-02-29
    (`xlsx_writer.date_serial` is the same rule in Python)."""

    output_field = IntegerField()

    def __init__(self, field: str) -> None:
        # A column, not any expression: the templates name it twice.
        super().__init__(F(field))

    @property
    def convert_value(self) -> Any:
        # The driver already returns an int; Django's `int()` converter ran on every row.
        return self._convert_value_noop

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = (
            "(%(expressions)s - DATE '1899-12-30' - (%(expressions)s < DATE '1900-03-01')::int)"
        )
        return self.as_sql(compiler, connection, template=template)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # julianday() of a date is exact (x.5), so the difference is a whole number.
        template = (
            "(CAST(julianday(%(expressions)s) - 2415018.5 AS INTEGER)"
            " - (%(expressions)s < '1900-03-01'))"
        )
        return self.as_sql(compiler, connection, template=template)


class SerialTime(Func):
    """A timestamp column in UTC, cut to the second, as a spreadsheet serial number
    (days and fraction, as `SerialDay`) in text: formatting a float per row in Python
    cost as much as a text cell. A double's shortest text (PostgreSQL) or 15 digits
    (SQLite) keep the time to well under a millisecond."""

    output_field = CharField()

    def __init__(self, field: str) -> None:
        super().__init__(F(field))  # a column: the templates name it twice

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # date_part() is a double: numeric arithmetic here cost 2 µs a row more.
        template = (
            "(floor(date_part('epoch', %(expressions)s)) / 86400 + 25569"
            " - (%(expressions)s < TIMESTAMPTZ '1900-03-01 00:00:00+00')::int)::text"
        )
        return self.as_sql(compiler, connection, template=template)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django stores aware datetimes in SQLite as UTC text; `%` doubled as in IsoDate.
        template = (
            "CAST(round(julianday(strftime('%%%%Y-%%%%m-%%%%d %%%%H:%%%%M:%%%%S', "
            "%(expressions)s)) - 2415018.5 - (%(expressions)s < '1900-03-01'), 10) AS TEXT)"
        )
        return self.as_sql(compiler, connection, template=template)


class RoundedText(Func):
    """PostgreSQL: a numeric rounded half away from zero to `places` decimals, as text
    (`round(12.500, 2)::text` is `12.50`) — `core.money.format_amount` for the
    non-negative amounts stored here."""

    template = "round(%(expressions)s)::text"
    output_field = CharField()


class TrimmedText(Func):
    """PostgreSQL: a numeric without trailing zeros, as text (`1.000000000000` → `1`)."""

    template = "trim_scale(%(expressions)s)::text"
    output_field = CharField()


class InArray(Func):
    """`field IN (ids)`; on PostgreSQL `field = ANY(%s::bigint[])` with the ids as one
    array literal, which binds in a fraction of the time of 2,000 placeholders."""

    output_field = BooleanField()

    def __init__(self, field: str, values: list[int]) -> None:
        super().__init__(F(field))
        self.values = list(values)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        column, params = compiler.compile(self.source_expressions[0])
        placeholders = ", ".join(["%s"] * len(self.values))
        return f"{column} IN ({placeholders})", [*params, *self.values]

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        column, params = compiler.compile(self.source_expressions[0])
        ids = "{" + ",".join(str(int(value)) for value in self.values) + "}"
        return f"{column} = ANY(%s::bigint[])", [*params, ids]


def minor_units_of(field: str) -> Case:
    """The minor units of the currency in `field` (2 for a code without an entry)."""
    by_places: dict[int, list[str]] = defaultdict(list)
    for code in currencies():
        if decimals(code) != 2:
            by_places[decimals(code)].append(code)
    whens = [
        When(**{f"{field}__in": codes}, then=Value(places))
        for places, codes in sorted(by_places.items())
    ]
    return Case(*whens, default=Value(2), output_field=IntegerField())


Column = str | Func


@dataclass(frozen=True)
class RecordKind:
    """How one model is exported: its counterparty column and any extra columns.

    Rows are `(id, date, description, amount, currency, base_amount, exchange_rate,
    category name, counterparty, notes, created_at, *extra)`.
    """

    name: str  # "expense" | "income"
    party: str  # merchant (expenses) or source (income)
    extra: tuple[str, ...]  # columns after the counterparty

    def columns(
        self, *, day: Column = "date", created: Column = "created_at", money: tuple = ()
    ) -> tuple[Column, ...]:
        amount, base_amount, rate = money or ("amount", "base_amount", "exchange_rate")
        return (
            "id",
            day,
            "description",
            amount,
            "currency",
            base_amount,
            rate,
            "category__name",
            self.party,
            "notes",
            created,
            *self.extra,
        )


EXPENSE = RecordKind(name="expense", party="merchant", extra=("payment_method",))
INCOME = RecordKind(name="income", party="source", extra=())

Row = tuple[Any, ...]
Chunk = tuple[list[Row], dict[int, list[str]]]


def tag_names(*, model: type, ids: list[int]) -> dict[int, list[str]]:
    """Tag names per record id, sorted by name; records without tags are absent."""
    if not ids:
        return {}
    own = f"{model._meta.model_name}_id"
    rows = (
        model.tags.through.objects.filter(InArray(own, ids))
        .values_list(own, "tag__name")
        .order_by(own, "tag__name")
    )
    names: dict[int, list[str]] = defaultdict(list)
    for record_id, name in rows:
        names[record_id].append(name)
    return names


Chunks = Generator[Chunk, None, None]


def _chunks(queryset: QuerySet, columns: tuple[Column, ...], chunk_size: int) -> Chunks:
    rows = queryset.values_list(*columns).iterator(chunk_size=chunk_size)
    try:
        while chunk := list(islice(rows, chunk_size)):
            yield chunk, tag_names(model=queryset.model, ids=[row[0] for row in chunk])
    finally:
        # An abandoned download closes its server-side cursor now, not when the
        # (possibly persistent) connection goes.
        rows.close()  # type: ignore[attr-defined]


def record_chunks(queryset: QuerySet, *, kind: RecordKind, chunk_size: int = CHUNK_SIZE) -> Chunks:
    """The rows of `queryset` (its filters and ordering kept) as tuples of
    `kind.columns()` with their Python types, `chunk_size` at a time, each chunk with
    its records' tag names."""
    return _chunks(queryset, kind.columns(), chunk_size)


def text_chunks(
    queryset: QuerySet, *, kind: RecordKind, base_currency: str, chunk_size: int = CHUNK_SIZE
) -> Chunks:
    """As `record_chunks`, with every value but the id as text: dates ISO 8601,
    `created_at` UTC with milliseconds, amounts with their currency's minor units
    (`base_amount` with `base_currency`'s), the exchange rate without trailing zeros.

    PostgreSQL renders it all (exactly: numeric rounding, no floats), so a row is never
    rebuilt in Python; on other databases the amounts are formatted here with the same
    rules (`formatting.amount_text`, `formatting.rate_text`).
    """
    return _money_as_text(
        queryset,
        kind=kind,
        base_currency=base_currency,
        day=IsoDate("date"),
        created=IsoTimestamp("created_at"),
        chunk_size=chunk_size,
    )


def sheet_chunks(
    queryset: QuerySet, *, kind: RecordKind, base_currency: str, chunk_size: int = CHUNK_SIZE
) -> Chunks:
    """As `text_chunks`, but `date` is a spreadsheet serial day number (`SerialDay`) and
    `created_at` a serial date and time as text (`SerialTime`); amounts and the exchange
    rate are the same text."""
    return _money_as_text(
        queryset,
        kind=kind,
        base_currency=base_currency,
        day=SerialDay("date"),
        created=SerialTime("created_at"),
        chunk_size=chunk_size,
    )


def _money_as_text(
    queryset: QuerySet,
    *,
    kind: RecordKind,
    base_currency: str,
    day: Func,
    created: Func,
    chunk_size: int,
) -> Chunks:
    if connections[queryset.db].vendor == "postgresql":
        money = (
            RoundedText(F("amount"), minor_units_of("currency")),
            RoundedText(F("base_amount"), Value(decimals(base_currency))),
            TrimmedText(F("exchange_rate")),
        )
        return _chunks(queryset, kind.columns(day=day, created=created, money=money), chunk_size)
    return _formatted(
        _chunks(queryset, kind.columns(day=day, created=created), chunk_size), base_currency
    )


def _formatted(chunks: Chunks, base_currency: str) -> Chunks:
    for rows, tags in chunks:
        yield (
            [
                (
                    pk,
                    day,
                    description,
                    amount_text(amount, currency),
                    currency,
                    amount_text(base_amount, base_currency),
                    rate_text(rate),
                    *rest,
                )
                for pk, day, description, amount, currency, base_amount, rate, *rest in rows
            ],
            tags,
        )


@dataclass(frozen=True)
class KindTotals:
    total: Decimal
    count: int
    first: date | None
    last: date | None
    by_category: list[dict[str, Any]]  # {category_name, total, count}, largest first


def kind_totals(queryset: QuerySet, *, currency: str) -> KindTotals:
    """Sum, count, date span and per-category sums of `base_amount` over the filtered
    records, all by the database (two queries)."""
    plain = queryset.order_by()
    overall = plain.aggregate(
        total=Coalesce(Sum("base_amount"), Decimal(0)),
        count=Count("id"),
        first=Min("date"),
        last=Max("date"),
    )
    groups = (
        plain.values("category_id", "category__name")
        .annotate(total=Coalesce(Sum("base_amount"), Decimal(0)), count=Count("id"))
        .order_by("-total", "category__name", "category_id")
    )
    return KindTotals(
        total=quantize(Decimal(overall["total"]), currency),
        count=overall["count"],
        first=overall["first"],
        last=overall["last"],
        by_category=[
            {
                "category_name": row["category__name"] or "Uncategorized",
                "total": quantize(Decimal(row["total"]), currency),
                "count": row["count"],
            }
            for row in groups
        ],
    )
