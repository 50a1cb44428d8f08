"""Exchange rates, shared by every user and written only by admins and loaders (SPEC §7)."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from core.money import validate_currency_code

# A stored rate lies in [MIN_RATE, MAX_RATE], so a direct or inverse rate is at most
# 10^8 and any allowed amount (< 10^12) times it stays below 10^20, the limit of the
# base_amount columns (24 digits, 4 of them decimals). Real rates are far inside
# (the largest, e.g. KWD→IRR, are about 10^5). Cross rates are checked when used.
MIN_RATE = Decimal("0.00000001")
MAX_RATE = Decimal("100000000")
RATE_RANGE_MESSAGE = f"An exchange rate must be between {MIN_RATE:f} and {MAX_RATE:f}."


class ExchangeRate(models.Model):
    """`rate` units of `quote` buy one unit of `base` on `date` (ECB style: base EUR)."""

    base = models.CharField(max_length=3, validators=[validate_currency_code])
    quote = models.CharField(max_length=3, validators=[validate_currency_code])
    date = models.DateField()
    rate = models.DecimalField(
        max_digits=24,
        decimal_places=10,
        validators=[
            MinValueValidator(MIN_RATE, message=RATE_RANGE_MESSAGE),
            MaxValueValidator(MAX_RATE, message=RATE_RANGE_MESSAGE),
        ],
    )
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
            models.CheckConstraint(
                condition=Q(rate__gte=MIN_RATE, rate__lte=MAX_RATE), name="rates_rate_range"
            ),
            models.CheckConstraint(condition=~Q(base=F("quote")), name="rates_base_not_quote"),
        ]
        indexes = [models.Index(fields=["base", "quote", "-date"], name="rates_pair_date_idx")]

    def __str__(self) -> str:
        return f"{self.base}/{self.quote} {self.date}: {self.rate}"
