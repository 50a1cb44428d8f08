from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from books.models import Book
from ledger.models import Transaction


class PaymentMethod(models.TextChoices):
    CASH = "cash", "Cash"
    CARD = "card", "Card"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    UPI = "upi", "UPI"
    MOBILE_WALLET = "mobile_wallet", "Mobile wallet"
    OTHER = "other", "Other"


class SplitMode(models.TextChoices):
    EQUAL = "equal", "Equal"
    SHARES = "shares", "Shares"
    EXACT = "exact", "Exact amounts"
    PERCENT = "percent", "Percent"


class Expense(Transaction):
    payment_method = models.CharField(
        max_length=16, choices=PaymentMethod.choices, default=PaymentMethod.OTHER
    )
    merchant = models.CharField(max_length=255, blank=True, default="")
    tags = models.ManyToManyField("categories.Tag", blank=True, related_name="expenses")
    # Shared books only (SPEC §15): the member who paid, and how the amount is split among
    # members (`shares`). Both empty in a personal book.
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    split_mode = models.CharField(max_length=8, choices=SplitMode.choices, blank=True, default="")

    class Meta:
        ordering = ["-date", "-id"]
        constraints = Transaction.money_constraints("expenses")
        indexes = [
            # Covering index: report sums over a date range are index-only scans, and
            # the default list order (-date, -id) is this index read backwards.
            models.Index(
                fields=["book", "date", "id"],
                include=["base_amount", "category"],
                name="expenses_book_date_cover_idx",
            ),
            models.Index(
                fields=["book", "date"],
                include=["base_amount", "merchant"],
                condition=~models.Q(merchant=""),
                name="expenses_merchant_cover_idx",
            ),
            models.Index(fields=["book", "category", "date"], name="expenses_book_cat_date_idx"),
            # Keyset pages for ?ordering=amount / created_at (either direction).
            models.Index(fields=["book", "amount", "id"], name="expenses_book_amount_idx"),
            models.Index(fields=["book", "created_at", "id"], name="expenses_book_created_idx"),
            *Transaction.import_indexes("expenses"),
            # Balances (SPEC §15): what each member paid, index-only.
            models.Index(
                fields=["book", "paid_by"],
                include=["base_amount"],
                condition=~models.Q(split_mode=""),
                name="expenses_book_paid_by_idx",
            ),
        ]

    @property
    def split(self) -> Expense | None:
        """What the API's `split` reads (`expenses.serializers.SplitSerializer`): the
        expense itself when it is split, else None."""
        return self if self.split_mode else None


class ExpenseShare(models.Model):
    """One member's part of a shared-book expense (SPEC §15).

    `value` is what was asked (1 for equal, the weight for shares, the amount for exact,
    the percent for percent); `amount` and `base_amount` are what it came to, in the
    expense's currency and in the book's base currency. The parts of an expense sum
    exactly to its `amount` and its `base_amount` (`expenses.splits`).
    """

    expense = models.ForeignKey(Expense, on_delete=models.CASCADE, related_name="shares")
    # The expense's book, repeated so balances and "my share" reports group by it directly.
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    value = models.DecimalField(max_digits=24, decimal_places=6)
    amount = models.DecimalField(max_digits=16, decimal_places=4)
    base_amount = models.DecimalField(max_digits=24, decimal_places=4)

    class Meta:
        ordering = ["expense_id", "user_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["expense", "user"],
                condition=Q(user__isnull=False),
                name="expenses_share_one_per_member",
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0, base_amount__gte=0, value__gte=0),
                name="expenses_share_nonnegative",
            ),
        ]
        indexes = [
            # Balances sum a member's parts; view=mine reports join them to their expenses.
            models.Index(
                fields=["book", "user", "expense"],
                include=["base_amount"],
                name="expenses_share_book_user_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.amount} of expense {self.expense_id}"
