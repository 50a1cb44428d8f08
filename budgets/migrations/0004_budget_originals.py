"""Budgets keep the amount as written and its currency, so a base-currency change
converts from them (never from an already-converted amount).

Existing budgets were written in the owner's current base currency as far as anyone
can tell now, so that is what their originals become.
"""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery

import core.money


def fill_originals(apps, schema_editor):
    Budget = apps.get_model("budgets", "Budget")
    User = apps.get_model("users", "User")
    base = User.objects.filter(pk=OuterRef("user_id")).values("base_currency")[:1]
    Budget.objects.update(amount_original=models.F("amount"), currency_original=Subquery(base))


class Migration(migrations.Migration):
    dependencies = [
        ("budgets", "0003_amounts_four_minor_units"),
        ("users", "0002_roles"),
    ]

    operations = [
        migrations.AddField(
            model_name="budget",
            name="amount_original",
            field=models.DecimalField(decimal_places=4, editable=False, max_digits=16, null=True),
        ),
        migrations.AddField(
            model_name="budget",
            name="currency_original",
            field=models.CharField(
                default="",
                editable=False,
                max_length=3,
                validators=[core.money.validate_currency_code],
            ),
            preserve_default=False,
        ),
        migrations.RunPython(fill_originals, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="budget",
            name="amount_original",
            field=models.DecimalField(decimal_places=4, editable=False, max_digits=16),
        ),
        migrations.AddConstraint(
            model_name="budget",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("amount_original__gt", 0),
                    ("amount_original__lte", core.money.MAX_AMOUNT),
                    models.Q(("currency_original", ""), _negated=True),
                ),
                name="budgets_amount_original_range",
            ),
        ),
    ]
