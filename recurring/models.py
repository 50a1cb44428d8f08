"""Recurring bills and income, and the occurrences the scheduled jobs acted on (SPEC §12)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from books.models import BookOwnedModel
from categories.models import Kind
from core.money import (
    AMOUNT_DECIMAL_PLACES,
    AMOUNT_MAX_DIGITS,
    MAX_AMOUNT,
    amount_errors,
    validate_currency_code,
)
from expenses.models import PaymentMethod

MAX_INTERVAL = 1000
MAX_REMIND_DAYS_BEFORE = 60


class Frequency(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    YEARLY = "yearly", "Yearly"


class RecurringItem(BookOwnedModel):
    """A bill or an income that repeats every `interval` days, weeks, months or years.

    The schedule starts on `start_date` and keeps its day of the month: an item on the
    29th–31st falls on the last day of shorter months and is back on its day after
    (see `recurring.selectors.occurrences`). For income, `merchant` is the payer: it
    becomes the created income's `source`; `payment_method` only applies to expenses.
    """

    kind = models.CharField(max_length=7, choices=Kind.choices)
    amount = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES)
    currency = models.CharField(max_length=3, validators=[validate_currency_code])
    description = models.CharField(max_length=255)
    category = models.ForeignKey(
        "categories.Category", on_delete=models.RESTRICT, null=True, blank=True, related_name="+"
    )
    merchant = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="Expenses: the merchant. Income: the payer (the income's `source`).",
    )
    payment_method = models.CharField(
        max_length=16,
        choices=PaymentMethod.choices,
        default=PaymentMethod.OTHER,
        help_text="Expenses only; income items keep `other`.",
    )
    frequency = models.CharField(max_length=7, choices=Frequency.choices)
    interval = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_INTERVAL)],
        help_text="Every `interval` days/weeks/months/years.",
    )
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True, help_text="Last possible date; inclusive.")
    auto_create = models.BooleanField(
        default=True, help_text="Record the expense/income on each due date."
    )
    remind_days_before = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(MAX_REMIND_DAYS_BEFORE)],
        help_text="Expenses: send a `bill_due` notification this many days ahead (0-60).",
    )
    active = models.BooleanField(default=True)
    resumed_on = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text="The owner's date when auto-creation was last switched back on (active "
        "again, or auto_create again); nothing before it is created, so a pause is not backfilled.",
    )

    class Meta:
        ordering = ["start_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0, amount__lte=MAX_AMOUNT), name="recurring_amount_range"
            ),
            models.CheckConstraint(condition=Q(kind__in=Kind.values), name="recurring_kind_valid"),
            models.CheckConstraint(
                condition=Q(frequency__in=Frequency.values), name="recurring_frequency_valid"
            ),
            models.CheckConstraint(
                condition=Q(interval__gte=1, interval__lte=MAX_INTERVAL),
                name="recurring_interval_range",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="recurring_end_after_start",
            ),
            models.CheckConstraint(
                condition=Q(remind_days_before__isnull=True)
                | Q(remind_days_before__gte=0, remind_days_before__lte=MAX_REMIND_DAYS_BEFORE),
                name="recurring_remind_days_range",
            ),
            models.CheckConstraint(
                condition=~Q(description=""), name="recurring_description_not_empty"
            ),
        ]
        indexes = [
            models.Index(fields=["book", "start_date"], name="recurring_book_start_idx"),
            # The jobs scan only live items: auto-creation and reminders.
            models.Index(
                fields=["id"],
                condition=Q(active=True, auto_create=True),
                name="recurring_auto_create_idx",
            ),
            models.Index(
                fields=["id"],
                condition=Q(active=True, kind=Kind.EXPENSE, remind_days_before__isnull=False),
                name="recurring_reminders_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description} ({self.frequency}, {self.amount} {self.currency})"

    def clean(self) -> None:
        """Rules the database cannot state: the category is the item's book's or a system
        one, of the item's kind; the amount suits its currency."""
        errors: dict[str, list[str]] = {}
        category = self.category if self.category_id is not None else None
        if category is not None:
            if category.book_id is not None and category.book_id != self.book_id:
                errors["category"] = ["No such category."]
            elif self.kind in Kind.values and category.kind != self.kind:
                errors["category"] = [f"Choose a category of kind '{self.kind}'."]
        if self.amount is not None and self.currency:
            problems = amount_errors(self.amount, self.currency)
            if problems:
                errors["amount"] = problems
        if self.end_date and self.start_date and self.end_date < self.start_date:
            errors["end_date"] = ["end_date is before start_date."]
        if errors:
            raise ValidationError(errors)


class RecurringOccurrence(models.Model):
    """One date of an item's schedule that a job has acted on.

    The unique (item, date) pair is what makes "never created twice" true: a job
    inserts or claims this row in the same transaction that records the expense or
    income. `fulfilled_at` marks that the transaction was created; it stays set when the
    user later deletes that expense/income (the link becomes null), so it is not re-created.
    A bill reminder for a future date creates the row early, with `fulfilled_at` empty.
    """

    item = models.ForeignKey(RecurringItem, on_delete=models.CASCADE, related_name="occurrences")
    date = models.DateField()
    expense = models.ForeignKey(
        "expenses.Expense", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    income = models.ForeignKey(
        "income.Income", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    fulfilled_at = models.DateTimeField(
        null=True, blank=True, help_text="When the expense/income for this date was recorded."
    )
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "date"], name="recurring_occurrence_unique"),
            models.CheckConstraint(
                condition=Q(expense__isnull=True) | Q(income__isnull=True),
                name="recurring_occurrence_one_record",
            ),
        ]
        # The unique constraint's index serves lookups by (item, date) and by item.

    def __str__(self) -> str:
        return f"{self.item_id} on {self.date}"
