"""Monthly budgets, overall or per expense category (SPEC §8)."""

from decimal import Decimal

from django.db import models
from django.db.models import Q

from books.models import BookOwnedModel
from core.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, MAX_AMOUNT, validate_currency_code
from currencies.originals import OriginalAmountMixin, OriginalsQuerySet


class Scope(models.TextChoices):
    OVERALL = "overall", "Overall"
    CATEGORY = "category", "Category"


class Budget(OriginalAmountMixin, BookOwnedModel):
    """`amount` (base currency) for one budget month, overall or for one category.

    `month` holds the first calendar day of the budget month's label (2026-03 →
    2026-03-01); the dates it covers depend on the book's `month_start_day`.
    Uniqueness of (book, month, scope, category) is enforced by two partial unique
    constraints, because NULL categories (overall budgets) never collide in a plain one:
    the members of a shared book share its budgets (SPEC §14).
    `amount_original` in `currency_original` is the amount as last written; a
    base-currency change derives `amount` from it (currencies.originals).
    """

    month = models.DateField()
    scope = models.CharField(max_length=8, choices=Scope.choices)
    category = models.ForeignKey(
        "categories.Category", on_delete=models.RESTRICT, null=True, blank=True, related_name="+"
    )
    amount = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES)
    amount_original = models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES, editable=False
    )
    currency_original = models.CharField(
        max_length=3, validators=[validate_currency_code], editable=False
    )
    rollover = models.BooleanField(default=False)
    warn_threshold = models.DecimalField(max_digits=4, decimal_places=3, default=Decimal("0.800"))

    objects = OriginalsQuerySet.as_manager()

    class Meta:
        ordering = ["-month", "scope", "category_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["book", "month", "scope", "category"],
                condition=Q(category__isnull=False),
                name="budgets_unique_category_budget",
            ),
            models.UniqueConstraint(
                fields=["book", "month", "scope"],
                condition=Q(category__isnull=True),
                name="budgets_unique_overall_budget",
            ),
            models.CheckConstraint(
                condition=(
                    Q(scope=Scope.OVERALL, category__isnull=True)
                    | Q(scope=Scope.CATEGORY, category__isnull=False)
                ),
                name="budgets_category_iff_category_scope",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0, amount__lte=MAX_AMOUNT), name="budgets_amount_range"
            ),
            models.CheckConstraint(
                condition=Q(amount_original__gt=0, amount_original__lte=MAX_AMOUNT)
                & ~Q(currency_original=""),
                name="budgets_amount_original_range",
            ),
            models.CheckConstraint(
                condition=Q(warn_threshold__gt=0, warn_threshold__lte=1),
                name="budgets_warn_threshold_range",
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="budgets_month_is_first_day"),
        ]
        indexes = [models.Index(fields=["book", "month"], name="budgets_book_month_idx")]

    def __str__(self) -> str:
        target = self.category.name if self.category_id else "overall"
        return f"{self.month:%Y-%m} {target}: {self.amount}"
