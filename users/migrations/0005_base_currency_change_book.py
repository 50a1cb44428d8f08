"""A base-currency change belongs to a book (SPEC §14): the existing ones, all made
through `PATCH /auth/me/`, were changes of their user's personal book."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def to_personal_books(apps, schema_editor):
    BaseCurrencyChange = apps.get_model("users", "BaseCurrencyChange")
    Book = apps.get_model("books", "Book")
    personal = dict(
        Book.objects.filter(kind="personal").values_list("personal_owner_id", "id")
    )
    for change in BaseCurrencyChange.objects.filter(book__isnull=True).only("id", "user_id"):
        BaseCurrencyChange.objects.filter(pk=change.pk).update(book_id=personal[change.user_id])


class Migration(migrations.Migration):
    dependencies = [
        ("books", "0002_personal_books"),
        ("users", "0004_base_currency_change"),
    ]

    operations = [
        migrations.AddField(
            model_name="basecurrencychange",
            name="book",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="books.book",
            ),
        ),
        migrations.RunPython(to_personal_books, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="basecurrencychange",
            name="book",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="books.book",
            ),
        ),
        migrations.AlterField(
            model_name="basecurrencychange",
            name="user",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="base_currency_changes",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RemoveConstraint(
            model_name="basecurrencychange",
            name="users_currency_change_one_pending",
        ),
        migrations.AddConstraint(
            model_name="basecurrencychange",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status__in", ["queued", "running"])),
                fields=("book",),
                name="users_currency_change_one_pending_per_book",
            ),
        ),
        migrations.RemoveIndex(
            model_name="basecurrencychange",
            name="users_currency_change_user_idx",
        ),
        migrations.AddIndex(
            model_name="basecurrencychange",
            index=models.Index(fields=["book", "-id"], name="users_currency_change_book_idx"),
        ),
    ]
