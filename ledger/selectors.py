"""Reads shared by expenses and income; `expenses.selectors` and `income.selectors` bind
them to their model."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.files import File
from django.db.models import BigIntegerField, Count, QuerySet, Sum
from django.db.models.functions import Cast, Coalesce

from core.exceptions import NotFoundError
from core.uploads import storage_call

from .models import DayMerchantTotal, DayTotal, Transaction


class ReceiptMissing(NotFoundError):
    """The record has no receipt, or its stored file is gone (→ 404)."""


def receipt_open(*, record: Transaction) -> File:
    """The record's receipt file, open for reading in binary mode; the caller closes it.
    Raises ReceiptMissing if the record has none or the storage no longer has the file,
    StorageUnavailable (503) if the storage fails."""
    if not record.receipt:
        raise ReceiptMissing("This record has no receipt.")
    try:
        with storage_call("receipt download"):
            stored = record.receipt.open("rb")
            # An object store fetches the file on first access: do it here, so its
            # failures answer 503 instead of breaking the response half-way.
            stored.seek(0)
    except FileNotFoundError:
        raise ReceiptMissing("This record's receipt file is missing.") from None
    return stored


def transactions_not_imported(
    *, model: type[Transaction], book: Any, first: date, last: date, text_field: str
) -> Iterator[tuple[int, date, Any, str, str, str]]:
    """`(id, date, amount, currency, description, text)` of `book`'s records dated
    `first`..`last` that no statement import created (entered by hand, by a recurring
    item or restored from a backup): they carry neither an import key nor a FITID.

    One query over the (book, date) index, streamed: the caller keeps what it needs.
    `text` is `text_field` (an expense's merchant, an income's source)."""
    return (
        model.objects.filter(
            book=book, date__gte=first, date__lte=last, import_key="", import_fitid=""
        )
        .order_by()
        .values_list("id", "date", "amount", "currency", "description", text_field)
        .iterator(chunk_size=2000)
    )


# --- exact duplicates of statement rows (the imports app calls this) --------------------


def transactions_import_matches(
    *, book: Any, keys: set[str], fitids: set[str], first: date, last: date
) -> tuple[Counter[str], set[str]]:
    """What a statement import into `book` already stored, over every ledger (expenses
    and income): how many records dated `first`..`last` carry each of `keys` (the
    date + amount + description key of a row without FITID), and which of `fitids`
    any record of the book has, whatever its date. Only `book`'s records count, so the
    same statement imports once into each book. Two indexed queries per ledger at most.
    """
    key_counts: Counter[str] = Counter()
    known_fitids: set[str] = set()
    ledgers = [
        model
        for model in apps.get_models()
        if issubclass(model, Transaction) and not model._meta.abstract
    ]
    for model in ledgers:
        records = model.objects.filter(book=book).order_by()
        if keys:
            # Grouped in the database and picked here: a statement's keys may be too
            # many for one IN list.
            rows = (
                records.filter(date__gte=first, date__lte=last)
                .exclude(import_key="")
                .values("import_key")
                .annotate(n=Count("*"))
                .values_list("import_key", "n")
            )
            key_counts.update({key: n for key, n in rows if key in keys})
        if fitids:
            known_fitids.update(
                records.filter(import_fitid__in=list(fitids)).values_list("import_fitid", flat=True)
            )
    return key_counts, known_fitids


# --- day totals (ledger.totals keeps them) ----------------------------------------------


def totals_enabled() -> bool:
    """Whether reports read the day totals (settings.REPORTS_FROM_TOTALS) or the records."""
    return settings.REPORTS_FROM_TOTALS


def summed_count(field: str = "record_count") -> Coalesce:
    """The number of records behind a group of totals rows (an integer on every database:
    PostgreSQL's sum of a bigint is a numeric)."""
    return Coalesce(Cast(Sum(field), BigIntegerField()), 0)


def day_totals(*, book: Any, kind: str, start: date, end: date) -> QuerySet[DayTotal]:
    """`book`'s totals of `kind` ("expense" or "income") for the days `start`..`end`: one
    row per (day, category, currency) with `record_count`, `amount_total` and `base_total`.
    Reports group and sum these as they would the records, over the unique key's index."""
    return DayTotal.objects.filter(book=book, kind=kind, day__gte=start, day__lte=end)


def merchant_totals(*, book: Any, start: date, end: date) -> QuerySet[DayMerchantTotal]:
    """`book`'s expense totals per (day, merchant) for `start`..`end`; records without a
    merchant are not in them."""
    return DayMerchantTotal.objects.filter(book=book, day__gte=start, day__lte=end)
