from django.db import models

from ledger.models import Transaction


class PaymentMethod(models.TextChoices):
    CASH = "cash", "Cash"
    CARD = "card", "Card"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    UPI = "upi", "UPI"
    MOBILE_WALLET = "mobile_wallet", "Mobile wallet"
    OTHER = "other", "Other"


class Expense(Transaction):
    payment_method = models.CharField(
        max_length=16, choices=PaymentMethod.choices, default=PaymentMethod.OTHER
    )
    merchant = models.CharField(max_length=255, blank=True, default="")
    tags = models.ManyToManyField("categories.Tag", blank=True, related_name="expenses")

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
        ]
