"""Seed the system categories of SPEC §5 (no owner, visible to every user)."""

from django.db import migrations

SYSTEM_CATEGORIES = {
    "expense": [
        "Food",
        "Groceries",
        "Rent",
        "Transport",
        "Utilities",
        "Entertainment",
        "Healthcare",
        "Shopping",
        "Education",
        "Travel",
        "Other",
    ],
    "income": ["Salary", "Freelance", "Investments", "Gifts", "Other"],
}


def seed_system_categories(apps, schema_editor):
    Category = apps.get_model("categories", "Category")
    for kind, names in SYSTEM_CATEGORIES.items():
        for name in names:
            exists = Category.objects.filter(
                user__isnull=True, kind=kind, name__iexact=name
            ).exists()
            if not exists:
                Category.objects.get_or_create(user=None, kind=kind, name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("categories", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(seed_system_categories, migrations.RunPython.noop),
    ]
