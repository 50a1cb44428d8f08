"""The abstract money record that expenses and income share (SPEC §6)."""

from __future__ import annotations

import uuid
from pathlib import PurePath

from django.db import models
from django.db.models import Q

from books.models import BookOwnedModel
from core.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, MAX_AMOUNT, validate_currency_code


def receipt_upload_to(instance: models.Model, filename: str) -> str:
    """Random names: a stored receipt's path says nothing about its owner or contents."""
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"receipts/{instance._meta.model_name}/{uuid.uuid4().hex}{suffix}"


class Transaction(BookOwnedModel):
    """An amount of money on a date, in its own currency and in the owner's base currency.

    `base_amount = amount × exchange_rate`, computed at write time from the rate for
    `date`; every report sums `base_amount`, so totals are always in one currency.
    """

    amount = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES)
    currency = models.CharField(max_length=3, validators=[validate_currency_code])
    base_amount = models.DecimalField(max_digits=24, decimal_places=AMOUNT_DECIMAL_PLACES)
    exchange_rate = models.DecimalField(max_digits=24, decimal_places=12, default=1)
    date = models.DateField()
    description = models.CharField(max_length=255)
    # RESTRICT, not PROTECT: a used category cannot be deleted on its own (categories
    # answers 409), but deleting the account deletes records and categories together.
    category = models.ForeignKey(
        "categories.Category", on_delete=models.RESTRICT, null=True, blank=True, related_name="+"
    )
    notes = models.TextField(blank=True, default="")
    receipt = models.FileField(upload_to=receipt_upload_to, blank=True, default="")
    # Set on records created by a statement import: undo finds them by batch, and the
    # next import recognises them by FITID or by (date, amount, description) key.
    import_batch = models.ForeignKey(
        "imports.ImportBatch",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # the partial index in import_indexes() covers it
    )
    import_fitid = models.CharField(max_length=255, blank=True, default="")
    import_key = models.CharField(max_length=64, blank=True, default="")
    # What the book's learned categoriser (the `ai` app, SPEC §16) suggested for a record
    # written without a category and matched by no rule. Never the record's category:
    # setting `category` (accepting or overriding) clears both.
    suggested_category = models.ForeignKey(
        "categories.Category",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # the partial index in import_indexes() covers it
    )
    suggested_confidence = models.DecimalField(
        max_digits=4, decimal_places=3, null=True, blank=True
    )

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.date} {self.amount} {self.currency} {self.description}"

    @classmethod
    def import_indexes(cls, prefix: str) -> list[models.Index]:
        """Duplicate detection looks records up by key within a user's date range; the
        few records with a suggestion are found by it when that category is deleted."""
        return [
            models.Index(
                fields=["book", "import_key"],
                condition=~Q(import_key=""),
                name=f"{prefix}_import_key_idx",
            ),
            models.Index(
                fields=["book", "import_fitid"],
                condition=~Q(import_fitid=""),
                name=f"{prefix}_import_fitid_idx",
            ),
            models.Index(
                fields=["import_batch"],
                condition=Q(import_batch__isnull=False),
                name=f"{prefix}_import_batch_idx",
            ),
            models.Index(
                fields=["suggested_category"],
                condition=Q(suggested_category__isnull=False),
                name=f"{prefix}_suggested_cat_idx",
            ),
        ]

    @classmethod
    def money_constraints(cls, prefix: str) -> list[models.BaseConstraint]:
        return [
            models.CheckConstraint(
                condition=Q(amount__gt=0, amount__lte=MAX_AMOUNT), name=f"{prefix}_amount_range"
            ),
            models.CheckConstraint(
                condition=Q(base_amount__gte=0), name=f"{prefix}_base_amount_nonneg"
            ),
            models.CheckConstraint(
                condition=~Q(description=""), name=f"{prefix}_description_not_empty"
            ),
        ]


# --- totals kept by the database (issue 19) -------------------------------------------------------
#
# Every report sums these instead of the records: one row per (book, kind, day, category,
# currency) with the count and the sums in the record currency and in the book's base
# currency, and one row per (book, day, merchant) for the top-merchants list. They are
# derived data, written only by database triggers on the expense and income tables
# (`ledger.totals`): every INSERT, UPDATE and DELETE — the API, imports and their undo,
# restores, the admin, cascades of a deleted book or account, a base-currency change —
# changes them in the same transaction, and nothing in Python writes them but the
# `manage.py totals rebuild` command. A row whose count reaches zero is deleted.
#
# A day, not a month, is the grain: it answers any date range exactly (budget months
# with any start day, weeks, custom ranges, day buckets) with no partial edges to scan,
# and a day's rows stay few whatever the number of records: a report's cost follows the
# length of its range, not the size of the history.
#
# The foreign keys carry no database constraint (and Django does nothing on delete): the
# triggers keep the rows in step with the records, and a category or book is only
# deleted once its records — and so its totals — are gone.


class DayTotal(models.Model):
    book = models.ForeignKey(
        "books.Book",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the unique key starts with it
        related_name="+",
    )
    kind = models.CharField(max_length=8)  # categories.models.Kind: expense | income
    day = models.DateField()
    category = models.ForeignKey(
        "categories.Category",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        related_name="+",
    )
    currency = models.CharField(max_length=3)
    record_count = models.BigIntegerField()
    amount_total = models.DecimalField(max_digits=32, decimal_places=AMOUNT_DECIMAL_PLACES)
    base_total = models.DecimalField(max_digits=32, decimal_places=AMOUNT_DECIMAL_PLACES)

    class Meta:
        constraints = [
            # NULLS NOT DISTINCT (PostgreSQL 15): the uncategorised row of a day is one row,
            # so the triggers' ON CONFLICT finds it. SQLite's triggers match with IS.
            # It covers the sums too (INCLUDE): a report's range is an index-only scan.
            models.UniqueConstraint(
                fields=["book", "kind", "day", "category", "currency"],
                name="ledger_daytotal_key",
                nulls_distinct=False,
                include=["record_count", "amount_total", "base_total"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.book_id} {self.kind} {self.day} {self.category_id} {self.currency}"


class DayMerchantTotal(models.Model):
    book = models.ForeignKey(
        "books.Book",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the unique key starts with it
        related_name="+",
    )
    day = models.DateField()
    merchant = models.CharField(max_length=255)
    record_count = models.BigIntegerField()
    base_total = models.DecimalField(max_digits=32, decimal_places=AMOUNT_DECIMAL_PLACES)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["book", "day", "merchant"],
                name="ledger_daymerchanttotal_key",
                include=["record_count", "base_total"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.book_id} {self.day} {self.merchant}"
