"""Exchange rates between 0.00000001 and 100,000,000 (any product with an allowed amount
then fits `base_amount`).

A stored rate outside that range could never convert an amount safely (the result
overflows the column or rounds to nothing), so it is removed before the constraint is
added; the migration prints how many. The provider or `load_rates` brings a sane one.
"""

from decimal import Decimal

import django.core.validators
from django.db import migrations, models

LOW, HIGH = Decimal("1E-8"), Decimal("100000000")


def drop_unusable_rates(apps, schema_editor):
    ExchangeRate = apps.get_model("currencies", "ExchangeRate")
    outside = ExchangeRate.objects.filter(models.Q(rate__lt=LOW) | models.Q(rate__gt=HIGH))
    removed, _ = outside.delete()
    if removed:
        print(f"\n  Removed {removed} exchange rate(s) outside {LOW}..{HIGH}.")


class Migration(migrations.Migration):
    dependencies = [
        ("currencies", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(drop_unusable_rates, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="exchangerate",
            name="rate",
            field=models.DecimalField(
                decimal_places=10,
                max_digits=24,
                validators=[
                    django.core.validators.MinValueValidator(
                        Decimal("1E-8"),
                        message="An exchange rate must be between 0.00000001 and 100000000.",
                    ),
                    django.core.validators.MaxValueValidator(
                        Decimal("100000000"),
                        message="An exchange rate must be between 0.00000001 and 100000000.",
                    ),
                ],
            ),
        ),
        migrations.AddConstraint(
            model_name="exchangerate",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("rate__gte", Decimal("1E-8")), ("rate__lte", Decimal("100000000"))
                ),
                name="rates_rate_range",
            ),
        ),
    ]
