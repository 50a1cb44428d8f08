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
            models.Index(fields=["user", "-date", "-id"], name="income_user_date_idx"),
            models.Index(fields=["user", "category", "date"], name="income_user_cat_date_idx"),
        ]
