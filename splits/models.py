"""Payments between members of a shared book that settle what they owe (SPEC §15).

A settlement is not spending: reports never read this table. Balances
(`splits.selectors`) combine it with who paid which expense and the parts of each
(`expenses.ExpenseShare`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from books.models import BookOwnedModel
from core.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, MAX_AMOUNT, validate_currency_code


class Settlement(BookOwnedModel):
    """`from_user` paid `to_user` `amount` in `currency` on `date`; `base_amount` is it in
    the book's base currency at that date's rate (like an expense's)."""

    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    amount = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES)
    currency = models.CharField(max_length=3, validators=[validate_currency_code])
    base_amount = models.DecimalField(max_digits=24, decimal_places=AMOUNT_DECIMAL_PLACES)
    exchange_rate = models.DecimalField(max_digits=24, decimal_places=12, default=1)
    date = models.DateField()
    note = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0, amount__lte=MAX_AMOUNT), name="splits_settlement_amount"
            ),
            models.CheckConstraint(
                condition=Q(base_amount__gte=0), name="splits_settlement_base_nonneg"
            ),
            models.CheckConstraint(
                condition=~Q(from_user=F("to_user")), name="splits_settlement_two_people"
            ),
        ]
        indexes = [models.Index(fields=["book", "date", "id"], name="splits_settlement_book_idx")]

    def __str__(self) -> str:
        return f"{self.from_user_id} → {self.to_user_id}: {self.amount} {self.currency}"
