"""Where records are written, the learned categoriser suggests (SPEC §16).

- A record created with no category that no rule matches asks `record_suggestion`
  (registered with `ledger.services` by `ai.apps`); the answer is stored as the record's
  `suggested_category` and never applied.
- An import preview asks `rows_suggestions` once for all its rows no rule matched: one
  model load and one batched prediction per kind, not one per row.
- An import commit that stored at least `AI_RETRAIN_AFTER_IMPORT_ROWS` records queues
  `retrain_book_task` for the book (`retrain_after_import`), so the model learns from a
  big history at once instead of waiting for the daily job.

Suggestions name only the book's own categories and the system ones of the kind, and
only when the model is at least `AI_SUGGEST_MIN_CONFIDENCE` sure. Nothing here writes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np
from celery import shared_task
from django.conf import settings
from django.db import transaction

from books.models import Book

from .categorize import suggestable_categories
from .classifier import Sample
from .models import RecordKind
from .training import load_model, train_book

logger = logging.getLogger(__name__)


def record_suggestion(
    *, book: Book, kind: str, description: str, merchant: str, amount: Decimal
) -> tuple[int, float] | None:
    """The suggester `ledger.services.transaction_create` asks: the learned model's
    category for a new record, when it is sure enough, else None. Reads only."""
    sample = Sample(description=description, merchant=merchant, amount=amount)
    return rows_suggestions(book=book, kind=kind, samples=[sample])[0]


def rows_suggestions(
    *, book: Book, kind: str, samples: Sequence[Sample]
) -> list[tuple[int, float] | None]:
    """For each sample, (category id, confidence) when the book's model for `kind` is at
    least `AI_SUGGEST_MIN_CONFIDENCE` sure of a category the book may use, else None.

    One model load and one prediction over the distinct samples, whatever their number;
    all None for a book without a model (cold start)."""
    if not samples:
        return []
    model = load_model(book=book, kind=kind)
    if model is None:
        return [None] * len(samples)
    allowed = suggestable_categories(book=book, kind=kind)
    columns = [index for index, label in enumerate(model.labels) if label in allowed]
    if not columns:
        return [None] * len(samples)
    distinct = list(dict.fromkeys(samples))
    probabilities = model.probabilities(distinct)[:, columns]
    best = probabilities.argmax(axis=1)
    labels = np.asarray(model.labels)[columns]
    least = settings.AI_SUGGEST_MIN_CONFIDENCE
    answers: dict[Sample, tuple[int, float] | None] = {}
    for sample, column, row in zip(distinct, best, probabilities, strict=True):
        confidence = float(row[column])
        answers[sample] = (int(labels[column]), confidence) if confidence >= least else None
    return [answers[sample] for sample in samples]


# --- retraining after a large import -------------------------------------------------


@shared_task(name="ai.retrain_book", ignore_result=True)
def retrain_book_task(book_id: int, kinds: list[str]) -> None:
    """Refit `book_id`'s categorisers of `kinds` now (after a large import). A book gone
    meanwhile is skipped; a failure is logged (the daily job tries again)."""
    book = Book.objects.filter(pk=book_id).first()
    if book is None:
        return
    for kind in kinds:
        try:
            train_book(book=book, kind=kind)
        except Exception:
            logger.exception("Retraining the %s categoriser of book %s failed", kind, book_id)


def retrain_after_import(*, book_id: int, stored: dict[str, int]) -> bool:
    """Queue a retrain of the book's categorisers once the caller's transaction commits,
    when an import stored at least `AI_RETRAIN_AFTER_IMPORT_ROWS` records (`stored`:
    records per kind). Only the kinds that got records are refitted. Returns whether it
    queued one."""
    if sum(stored.values()) < settings.AI_RETRAIN_AFTER_IMPORT_ROWS:
        return False
    kinds = [kind for kind in RecordKind.values if stored.get(kind)]
    transaction.on_commit(lambda: _enqueue(book_id, kinds), robust=True)
    return True


def _enqueue(book_id: int, kinds: list[str]) -> Any:
    return retrain_book_task.delay(book_id, kinds)
