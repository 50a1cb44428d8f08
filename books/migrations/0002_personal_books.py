"""Every existing account gets its personal book (SPEC §14), owning it as a member.

Later migrations of the record apps move each user's records into this book. Reversing
deletes the personal books (shared books are kept, their data is not this migration's).
"""

from django.db import migrations


def create_personal_books(apps, schema_editor):
    User = apps.get_model("users", "User")
    Book = apps.get_model("books", "Book")
    Membership = apps.get_model("books", "Membership")
    have = set(Book.objects.filter(kind="personal").values_list("personal_owner_id", flat=True))
    users = list(
        User.objects.exclude(pk__in=have).values_list("pk", "base_currency", "month_start_day")
    )
    for start in range(0, len(users), 2000):
        chunk = users[start : start + 2000]
        books = Book.objects.bulk_create(
            Book(
                name="Personal",
                kind="personal",
                personal_owner_id=user_id,
                base_currency=currency,
                month_start_day=start_day,
            )
            for user_id, currency, start_day in chunk
        )
        Membership.objects.bulk_create(
            Membership(book_id=book.pk, user_id=book.personal_owner_id, role="owner")
            for book in books
        )

def delete_personal_books(apps, schema_editor):
    apps.get_model("books", "Book").objects.filter(kind="personal").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("books", "0001_initial"),
        ("users", "0004_base_currency_change"),
    ]

    operations = [migrations.RunPython(create_personal_books, delete_personal_books)]
