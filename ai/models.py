"""What the insights app keeps (SPEC §16): each book's learned categoriser, so a request
never trains, and the anomalies it has found, so each one notifies once."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from books.models import Book


class RecordKind(models.TextChoices):
    EXPENSE = "expense", "Expense"
    INCOME = "income", "Income"


class CategoryModel(models.Model):
    """A book's categoriser for one kind of record, fitted by `ai.training` on the book's
    categorised history and stored serialised (`payload`); replaced whole on retraining."""

    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=RecordKind.choices)
    trained_at = models.DateTimeField()
    samples = models.PositiveIntegerField(help_text="Records it was fitted on.")
    classes = models.PositiveIntegerField(help_text="Categories it can suggest.")
    holdout_accuracy = models.FloatField(
        null=True, blank=True, help_text="Top-1 accuracy on the newest records held out."
    )
    format_version = models.PositiveSmallIntegerField(default=1)
    payload = models.BinaryField(editable=False)

    class Meta:
        ordering = ["book_id", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["book", "kind"], name="ai_categorymodel_one_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind} categoriser of book {self.book_id}"


class AnomalyKind(models.TextChoices):
    EXPENSE = "expense", "Expense"
    CATEGORY = "category", "Category"


class Anomaly(models.Model):
    """Something unusual found in a book: one expense (far above its merchant's usual, a
    large charge from a new merchant, a duplicated charge) or a category's month far above
    its typical month. `notified_at` is set once its notification went out."""

    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=AnomalyKind.choices)
    expense = models.ForeignKey(
        "expenses.Expense", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    category = models.ForeignKey(
        "categories.Category", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    month = models.DateField(help_text="First day of the budget month it belongs to.")
    reason_code = models.CharField(max_length=32)
    reason = models.CharField(max_length=255)
    score = models.FloatField()
    data = models.JSONField(default=dict, blank=True)
    detected_at = models.DateTimeField(auto_now_add=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-month", "-score", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["book", "expense", "reason_code"],
                condition=Q(expense__isnull=False),
                name="ai_anomaly_once_per_expense",
            ),
            models.UniqueConstraint(
                fields=["book", "category", "month"],
                condition=Q(kind="category"),
                name="ai_anomaly_once_per_category_month",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="expense", expense__isnull=False)
                    | Q(kind="category", category__isnull=False, expense__isnull=True)
                ),
                name="ai_anomaly_names_its_subject",
            ),
        ]
        indexes = [models.Index(fields=["book", "month"], name="ai_anomaly_book_month_idx")]

    def __str__(self) -> str:
        return f"{self.kind} anomaly in book {self.book_id}: {self.reason}"
