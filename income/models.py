from django.db import models

from ledger.models import Transaction


class Income(Transaction):
    source = models.CharField(max_length=255, blank=True, default="", help_text="Payer.")
    tags = models.ManyToManyField("categories.Tag", blank=True, related_name="incomes")

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name_plural = "income"
        constraints = Transaction.money_constraints("income")
        indexes = [
            # Covering index: report sums over a date range are index-only scans, and
            # the default list order (-date, -id) is this index read backwards.
            models.Index(
                fields=["book", "date", "id"],
                include=["base_amount", "category"],
                name="income_book_date_cover_idx",
            ),
            models.Index(fields=["book", "category", "date"], name="income_book_cat_date_idx"),
            # Keyset pages for ?ordering=amount / created_at (either direction).
            models.Index(fields=["book", "amount", "id"], name="income_book_amount_idx"),
            models.Index(fields=["book", "created_at", "id"], name="income_book_created_idx"),
            *Transaction.import_indexes("income"),
        ]
