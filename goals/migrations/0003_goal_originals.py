"""Goals and contributions keep the amount as written and its currency, so a
base-currency change converts from them (never from an already-converted amount).

Existing rows were written in the owner's current base currency as far as anyone can
tell now, so that is what their originals become.
"""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery

import core.money


def fill_originals(apps, schema_editor):
    Goal = apps.get_model("goals", "Goal")
    Contribution = apps.get_model("goals", "Contribution")
    User = apps.get_model("users", "User")
    owner_base = User.objects.filter(pk=OuterRef("user_id")).values("base_currency")[:1]
    Goal.objects.update(
        target_amount_original=models.F("target_amount"), currency_original=Subquery(owner_base)
    )
    goal_base = Goal.objects.filter(pk=OuterRef("goal_id")).values("currency_original")[:1]
    Contribution.objects.update(
        amount_original=models.F("amount"), currency_original=Subquery(goal_base)
    )


def _currency():
    return models.CharField(
        default="", editable=False, max_length=3, validators=[core.money.validate_currency_code]
    )


class Migration(migrations.Migration):
    dependencies = [
        ("goals", "0002_amounts_four_minor_units"),
        ("users", "0002_roles"),
    ]

    operations = [
        migrations.AddField(
            model_name="goal",
            name="target_amount_original",
            field=models.DecimalField(decimal_places=4, editable=False, max_digits=16, null=True),
        ),
        migrations.AddField(
            model_name="goal", name="currency_original", field=_currency(), preserve_default=False
        ),
        migrations.AddField(
            model_name="contribution",
            name="amount_original",
            field=models.DecimalField(decimal_places=4, editable=False, max_digits=16, null=True),
        ),
        migrations.AddField(
            model_name="contribution",
            name="currency_original",
            field=_currency(),
            preserve_default=False,
        ),
        migrations.RunPython(fill_originals, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="goal",
            name="target_amount_original",
            field=models.DecimalField(decimal_places=4, editable=False, max_digits=16),
        ),
        migrations.AlterField(
            model_name="contribution",
            name="amount_original",
            field=models.DecimalField(decimal_places=4, editable=False, max_digits=16),
        ),
        migrations.AddConstraint(
            model_name="goal",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("target_amount_original__gt", 0),
                    ("target_amount_original__lte", core.money.MAX_AMOUNT),
                    models.Q(("currency_original", ""), _negated=True),
                ),
                name="goals_goal_target_original_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="contribution",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("amount_original__gte", -core.money.MAX_AMOUNT),
                    ("amount_original__lte", core.money.MAX_AMOUNT),
                    models.Q(("amount_original", 0), _negated=True),
                    models.Q(("currency_original", ""), _negated=True),
                ),
                name="goals_contribution_original_range",
            ),
        ),
    ]
