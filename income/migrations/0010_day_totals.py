"""Triggers that keep the ledger's day totals (ledger.totals) in step with every write of
the income_income table, and the totals of the records already there."""

from django.db import migrations

from ledger import totals

TABLE = "income_income"


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        for statement in totals.trigger_statements(TABLE, vendor):
            cursor.execute(statement)
        totals.fill_for_table(cursor, TABLE)


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        for statement in totals.drop_statements(TABLE, vendor):
            cursor.execute(statement)
        kind = "expense" if TABLE == "expenses_expense" else "income"
        cursor.execute(f"DELETE FROM {totals.DAY} WHERE kind = %s", [kind])
        if kind == "expense":
            cursor.execute(f"DELETE FROM {totals.MERCHANT}")


class Migration(migrations.Migration):
    dependencies = [
        ("income", "0009_suggested_category"),
        ("ledger", "0001_day_totals"),
    ]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
