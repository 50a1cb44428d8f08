"""Fitting, storing and loading each book's categoriser (SPEC §16).

A book gets one model per kind of record (expense, income), fitted on its own
categorised records (the most recent `AI_TRAIN_MAX_RECORDS`), stored in
`CategoryModel` and replaced whole on retraining. Requests only ever load: a book
without a stored model is in cold start. `train_due_books` is the scheduled job that
retrains the books whose records changed since their model; `train_book` is for
"right now" (after a large import).
"""

from __future__ import annotations

import logging
import pickle
import threading
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone

from books.models import Book
from expenses.models import Expense
from income.models import Income

from . import classifier
from .classifier import Categoriser, Sample
from .models import CategoryModel, RecordKind

logger = logging.getLogger(__name__)

# Books retrained by one run of the job at most; the rest wait for the next run.
MAX_BOOKS_PER_RUN = 25
# Fitted models kept in this process (a few hundred KB each).
CACHE_SIZE = 64
HOLDOUT_SHARE = 0.2


@dataclass(frozen=True)
class RecordSource:
    """Where a kind of record lives and which field plays the merchant."""

    model: type[models.Model]
    merchant_field: str


RECORD_SOURCES = {
    RecordKind.EXPENSE: RecordSource(Expense, "merchant"),
    RecordKind.INCOME: RecordSource(Income, "source"),
}


def _training_records(source: RecordSource) -> models.QuerySet:
    """Categorised records whose category is their book's own or a system one (the only
    categories a suggestion may name)."""
    return source.model.objects.filter(category__isnull=False).filter(
        Q(category__book=F("book")) | Q(category__book__isnull=True)
    )


def train_book(*, book: Book, kind: str) -> CategoryModel | None:
    """Fit and store `book`'s categoriser for `kind` from its categorised records.

    Uses the most recent `AI_TRAIN_MAX_RECORDS` of them; the newest 20 % are first held
    out to measure `holdout_accuracy` (a time-based split), then the model is refitted on
    all. With fewer than `AI_MIN_TRAINING_RECORDS` records or fewer than two categories
    the book has no model (a stored one is deleted) and None is returned.
    """
    source = RECORD_SOURCES[RecordKind(kind)]
    # Stamped before reading: a record changed while fitting makes the model due again.
    started = timezone.now()
    rows = list(
        _training_records(source)
        .filter(book=book, category__kind=kind)
        .order_by("-date", "-id")
        .values_list("description", source.merchant_field, "base_amount", "category_id")[
            : settings.AI_TRAIN_MAX_RECORDS
        ]
    )
    rows.reverse()  # oldest first, so the holdout is the newest
    samples = [Sample(description=d, merchant=m, amount=a) for d, m, a, _ in rows]
    labels = [category for *_, category in rows]
    if len(rows) < settings.AI_MIN_TRAINING_RECORDS or len(set(labels)) < 2:
        CategoryModel.objects.filter(book=book, kind=kind).delete()
        return None

    clock = time.perf_counter()
    cut = len(rows) - max(1, int(len(rows) * HOLDOUT_SHARE))
    holdout_accuracy = None
    if len(set(labels[:cut])) >= 2:
        held_out = classifier.fit(samples[:cut], labels[:cut])
        holdout_accuracy = round(classifier.accuracy(held_out, samples[cut:], labels[cut:]), 4)
    model = classifier.fit(samples, labels)
    payload = zlib.compress(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL), 6)
    fields = {
        "trained_at": started,
        "samples": len(rows),
        "classes": len(model.labels),
        "holdout_accuracy": holdout_accuracy,
        "format_version": classifier.FORMAT_VERSION,
        "payload": payload,
    }
    try:
        with transaction.atomic():
            stored, _ = CategoryModel.objects.update_or_create(
                book=book, kind=kind, defaults=fields
            )
    except IntegrityError:  # another process stored one first: replace it
        stored, _ = CategoryModel.objects.update_or_create(book=book, kind=kind, defaults=fields)
    logger.info(
        "Trained the %s categoriser of book %s: %s records, %s categories, holdout accuracy "
        "%s, %s bytes, %.2f s",
        kind,
        book.pk,
        len(rows),
        len(model.labels),
        holdout_accuracy,
        len(payload),
        time.perf_counter() - clock,
    )
    return stored


# --- loading, with a small in-process cache ------------------------------------------

_cache: OrderedDict[tuple[int, str], tuple[datetime, Categoriser]] = OrderedDict()
_cache_lock = threading.Lock()


def load_model(*, book: Book, kind: str) -> Categoriser | None:
    """The book's stored categoriser for `kind`, or None (cold start). Never trains.

    One small query checks which model is current; the payload is read and unpickled
    only when this process has not cached that very model (keyed by book, kind and
    `trained_at`). A payload that cannot be read counts as no model (the job refits it).
    """
    current = (
        CategoryModel.objects.filter(book=book, kind=kind)
        .values_list("pk", "trained_at", "format_version")
        .first()
    )
    if current is None:
        return None
    pk, trained_at, format_version = current
    if format_version != classifier.FORMAT_VERSION:
        return None
    key = (book.pk, kind)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] == trained_at:
            _cache.move_to_end(key)
            return cached[1]
    payload = CategoryModel.objects.filter(pk=pk).values_list("payload", flat=True).first()
    if payload is None:
        return None
    try:
        model = pickle.loads(zlib.decompress(bytes(payload)))  # noqa: S301 - written by train_book
    except Exception:
        logger.exception("The %s categoriser of book %s could not be loaded", kind, book.pk)
        return None
    with _cache_lock:
        _cache[key] = (trained_at, model)
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return model


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


# --- the scheduled job ---------------------------------------------------------------


def due_books(*, limit: int = MAX_BOOKS_PER_RUN) -> list[tuple[int, str]]:
    """(book id, kind) pairs whose model is missing or stale, most recently changed first.

    Stale: a categorised record was written after the model was fitted, the number of
    records it would now be fitted on differs (records deleted or uncategorised), or it
    was stored in an older format. A book whose records no longer support a model but
    that still has one is due too (retraining deletes it). Two grouped queries per kind.
    """
    due: list[tuple[datetime | None, int, str]] = []
    for kind, source in RECORD_SOURCES.items():
        stats = {
            row["book"]: (row["n"], row["categories"], row["last"])
            for row in _training_records(source)
            .filter(category__kind=kind)
            .values("book")
            .annotate(
                n=Count("id"), categories=Count("category", distinct=True), last=Max("updated_at")
            )
            .order_by()
        }
        stored = {
            book_id: (trained_at, samples, version)
            for book_id, trained_at, samples, version in CategoryModel.objects.filter(
                kind=kind
            ).values_list("book_id", "trained_at", "samples", "format_version")
        }
        for book_id, (count, categories, last) in stats.items():
            model = stored.get(book_id)
            if model is None:
                if count >= settings.AI_MIN_TRAINING_RECORDS and categories >= 2:
                    due.append((last, book_id, kind))
                continue
            trained_at, samples, version = model
            if (
                last > trained_at
                or min(count, settings.AI_TRAIN_MAX_RECORDS) != samples
                or version != classifier.FORMAT_VERSION
            ):
                due.append((last, book_id, kind))
        due.extend((None, book_id, kind) for book_id in stored.keys() - stats.keys())
    due.sort(key=lambda item: (item[0] is not None, item[0]), reverse=True)
    return [(book_id, kind) for _, book_id, kind in due[:limit]]


def train_due_books() -> int:
    """Retrain the categorisers of books whose records changed since their model (at
    most `MAX_BOOKS_PER_RUN` a run); returns how many were retrained or removed. A book
    that fails is logged and left for the next run."""
    done = 0
    pairs = due_books()
    books = Book.objects.in_bulk({book_id for book_id, _ in pairs})
    for book_id, kind in pairs:
        book: Any = books.get(book_id)
        if book is None:
            continue
        try:
            train_book(book=book, kind=kind)
        except Exception:
            logger.exception("Training the %s categoriser of book %s failed", kind, book_id)
            continue
        done += 1
    return done
