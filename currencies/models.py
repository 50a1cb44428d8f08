"""Exchange rates, shared by every user and written only by admins and loaders (SPEC §7)."""

from django.db import models
from django.db.models import F, Q

from core.money import validate_currency_code


class ExchangeRate(models.Model):
    """`rate` units of `quote` buy one unit of `base` on `date` (ECB style: base EUR)."""

    base = models.CharField(max_length=3, validators=[validate_currency_code])
    quote = models.CharField(max_length=3, validators=[validate_currency_code])
    date = models.DateField()
    rate = models.DecimalField(max_digits=24, decimal_places=10)
    source = models.CharField(max_length=32, blank=True, default="manual")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date", "base", "quote"]
        constraints = [
            models.UniqueConstraint(
                fields=["base", "quote", "date"], name="rates_unique_pair_date"
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="rates_rate_positive"),
            models.CheckConstraint(condition=~Q(base=F("quote")), name="rates_base_not_quote"),
        ]
        indexes = [models.Index(fields=["base", "quote", "-date"], name="rates_pair_date_idx")]

    def __str__(self) -> str:
        return f"{self.base}/{self.quote} {self.date}: {self.rate}"
