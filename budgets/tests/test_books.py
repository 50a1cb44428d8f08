"""Budgets in books (SPEC §14): shared by the members of a book, figured in the book's
base currency and budget months, alerting every member per their own preferences."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from budgets.models import Budget
from budgets.services import budget_alerts_for_expense_dates
from categories.models import Category, Kind
from expenses.models import Expense
from notifications.models import Notification, NotificationKind
from notifications.services import preferences_update
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def books_url(book, path="budgets/"):
    return f"/api/v1/books/{book.pk}/{path}"


def spend(book, user, amount, day, category=None):
    """An expense stored straight in `book`, in its base currency (rate 1)."""
    return Expense.objects.create(
        book=book,
        user=user,
        amount=Decimal(amount),
        currency=book.base_currency,
        base_amount=Decimal(amount),
        exchange_rate=Decimal(1),
        date=day,
        description="x",
        category=category,
    )


@pytest.fixture
def editor(db):
    return UserFactory()


@pytest.fixture
def viewer(db):
    return UserFactory()


@pytest.fixture
def household(shared_book, user, editor, viewer):
    return shared_book(owner=user, editors=[editor], viewers=[viewer])


def test_an_editors_budget_lands_in_the_book_not_in_a_personal_one(
    household, user, editor, client_for
):
    client = client_for(editor)
    response = client.post(
        books_url(household), {"month": "2026-03", "scope": "overall", "amount": "500"}
    )
    assert response.status_code == 201, response.content
    budget = Budget.objects.get(pk=response.json()["id"])
    assert (budget.book_id, budget.user_id) == (household.pk, editor.pk)

    # Not in the editor's personal book, and a personal budget is not in the shared book.
    assert client.get("/api/v1/budgets/").json()["results"] == []
    personal = client.post(
        "/api/v1/budgets/", {"month": "2026-03", "scope": "overall", "amount": "70"}
    )
    assert personal.status_code == 201
    listed = client.get(books_url(household)).json()["results"]
    assert [row["id"] for row in listed] == [budget.pk]
    # The owner sees the same budget in the same book; another member's upsert of the
    # same key updates it (200) instead of adding one.
    owner = client_for(user)
    assert [row["id"] for row in owner.get(books_url(household)).json()["results"]] == [budget.pk]
    again = owner.post(
        books_url(household), {"month": "2026-03", "scope": "overall", "amount": "650"}
    )
    assert again.status_code == 200
    assert again.json()["id"] == budget.pk and again.json()["amount"] == "650.00"
    assert Budget.objects.filter(book=household).count() == 1


def test_a_viewer_reads_but_cannot_write(household, user, viewer, client_for):
    budget = Budget.objects.create(
        book=household, user=user, month=date(2026, 3, 1), scope="overall", amount=Decimal(100)
    )
    client = client_for(viewer)
    assert client.get(books_url(household)).status_code == 200
    assert client.get(books_url(household, f"budgets/{budget.pk}/")).status_code == 200
    assert (
        client.get(books_url(household, "budgets/status/"), {"month": "2026-03"}).status_code == 200
    )

    writes = [
        client.post(books_url(household), {"month": "2026-04", "scope": "overall", "amount": "1"}),
        client.patch(books_url(household, f"budgets/{budget.pk}/"), {"amount": "5"}),
        client.delete(books_url(household, f"budgets/{budget.pk}/")),
        client.post(
            books_url(household, "budgets/copy/"), {"from_month": "2026-03", "to_month": "2026-04"}
        ),
    ]
    assert [response.status_code for response in writes] == [403, 403, 403, 403]
    budget.refresh_from_db()
    assert budget.amount == Decimal(100)
    assert Budget.objects.filter(book=household).count() == 1


def test_a_non_member_gets_404_everywhere(household, user, other_client):
    budget = Budget.objects.create(
        book=household, user=user, month=date(2026, 3, 1), scope="overall", amount=Decimal(100)
    )
    detail = books_url(household, f"budgets/{budget.pk}/")
    responses = [
        other_client.get(books_url(household)),
        other_client.get(detail),
        other_client.get(books_url(household, "budgets/status/")),
        other_client.post(
            books_url(household), {"month": "2026-04", "scope": "overall", "amount": "1"}
        ),
        other_client.patch(detail, {"amount": "5"}),
        other_client.delete(detail),
        other_client.post(
            books_url(household, "budgets/copy/"), {"from_month": "2026-03", "to_month": "2026-04"}
        ),
        # Nor through the top level: it is not in their personal book.
        other_client.get(f"/api/v1/budgets/{budget.pk}/"),
        other_client.patch(f"/api/v1/budgets/{budget.pk}/", {"amount": "5"}),
    ]
    assert {response.status_code for response in responses} == {404}
    budget.refresh_from_db()
    assert budget.amount == Decimal(100)


def test_another_books_category_in_a_body_or_filter_is_400(household, user, editor, client_for):
    mine = Category.objects.create(
        book_id=user.personal_book.pk, user=user, name="Mine", kind=Kind.EXPENSE
    )
    theirs = Category.objects.create(book=household, user=user, name="Shared", kind=Kind.EXPENSE)
    client = client_for(user)

    response = client.post(
        books_url(household),
        {"month": "2026-03", "scope": "category", "category": mine.pk, "amount": "10"},
    )
    assert response.status_code == 400 and "category" in response.json()
    response = client.post(
        "/api/v1/budgets/",
        {"month": "2026-03", "scope": "category", "category": theirs.pk, "amount": "10"},
    )
    assert response.status_code == 400 and "category" in response.json()
    assert client.get(books_url(household), {"category": mine.pk}).status_code == 400
    assert client.get("/api/v1/budgets/", {"category": theirs.pk}).status_code == 400

    # The book's own category and a system one are fine.
    system = Category.objects.filter(book__isnull=True, kind=Kind.EXPENSE).first()
    for category in filter(None, [theirs, system]):
        response = client.post(
            books_url(household),
            {"month": "2026-03", "scope": "category", "category": category.pk, "amount": "10"},
        )
        assert response.status_code == 201, response.content
    assert client.get(books_url(household), {"category": theirs.pk}).status_code == 200


def test_figures_are_in_the_books_currency_and_budget_months(shared_book, user, client_for):
    # The user counts in USD from the 1st; the book in JPY (no decimals) from the 25th.
    book = shared_book(owner=user, base_currency="JPY", month_start_day=25)
    client = client_for(user)
    assert (
        client.post(
            books_url(book), {"month": "2026-03", "scope": "overall", "amount": "100.50"}
        ).status_code
        == 400
    )  # JPY has no minor unit
    response = client.post(
        books_url(book), {"month": "2026-03", "scope": "overall", "amount": "1000"}
    )
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == "1000"

    spend(book, user, "300", date(2026, 3, 24))  # budget month 2026-02 of the book
    spend(book, user, "400", date(2026, 3, 25))  # first day of the book's 2026-03
    spend(book, user, "500", date(2026, 4, 24))  # last day of it
    spend(book, user, "900", date(2026, 4, 25))  # 2026-04
    spend(user.personal_book, user, "999", date(2026, 3, 10))  # another book

    body = client.get(books_url(book, "budgets/status/"), {"month": "2026-03"}).json()
    assert body["currency"] == "JPY"
    assert (body["start"], body["end"]) == ("2026-03-25", "2026-04-24")
    overall = body["overall"]
    assert (overall["spent"], overall["remaining"], overall["status"]) == ("900", "100", "warn")
    assert body["unbudgeted_spent"] == "900"  # no category budget: all of it
    # A day in the month picks the book's budget month, in the list filter too.
    assert client.get(books_url(book), {"month": "2026-04-20"}).json()["results"][0]["month"] == (
        "2026-03"
    )
    # The personal book still counts in USD from the 1st.
    personal = client.get("/api/v1/budgets/status/", {"month": "2026-03"}).json()
    assert (personal["currency"], personal["start"]) == ("USD", "2026-03-01")
    assert personal["unbudgeted_spent"] == "999.00"


def test_copy_and_rollover_stay_within_the_book(household, user, editor, client_for):
    Budget.objects.create(
        book=household, user=user, month=date(2026, 3, 1), scope="overall", amount=Decimal(100)
    )
    Budget.objects.create(
        user=editor, month=date(2026, 3, 1), scope="overall", amount=Decimal(999)
    )  # the editor's personal book
    client = client_for(editor)
    response = client.post(
        books_url(household, "budgets/copy/"), {"from_month": "2026-03", "to_month": "2026-04"}
    )
    assert response.json() == {"created": 1, "updated": 0, "skipped": 0}
    copied = Budget.objects.get(book=household, month=date(2026, 4, 1))
    assert (copied.amount, copied.user_id) == (Decimal(100), editor.pk)
    assert not Budget.objects.filter(book=editor.personal_book, month=date(2026, 4, 1)).exists()

    Budget.objects.filter(book=household).update(rollover=True)
    spend(household, user, "30", date(2026, 3, 5))
    spend(editor.personal_book, editor, "90", date(2026, 3, 5))  # not the book's
    overall = client.get(books_url(household, "budgets/status/"), {"month": "2026-04"}).json()[
        "overall"
    ]
    assert (overall["rollover_in"], overall["available"]) == ("70.00", "170.00")


def test_alerts_notify_every_member_once_each_per_their_preferences(
    household, user, editor, viewer, django_capture_on_commit_callbacks
):
    outsider = UserFactory()
    preferences_update(user=viewer, changes={"budget_exceeded": {"in_app": False}})
    preferences_update(user=editor, changes={"budget_exceeded": {"email": False}})
    Budget.objects.create(
        book=household, user=user, month=date(2026, 3, 1), scope="overall", amount=Decimal(100)
    )
    Budget.objects.create(  # the owner's personal budget is not the book's
        user=user, month=date(2026, 3, 1), scope="overall", amount=Decimal(1)
    )
    spend(household, editor, "120", date(2026, 3, 10))

    with django_capture_on_commit_callbacks(execute=True):  # the emails go out on commit
        budget_alerts_for_expense_dates(book=household, user=editor, dates=[date(2026, 3, 10)])
        budget_alerts_for_expense_dates(book=household, user=user, dates=[date(2026, 3, 11)])

    exceeded = Notification.objects.filter(kind=NotificationKind.BUDGET_EXCEEDED)
    assert sorted(exceeded.values_list("user_id", flat=True)) == sorted(
        [user.pk, editor.pk, viewer.pk]
    )
    assert not Notification.objects.filter(user=outsider).exists()
    # Each per their own preferences: the viewer's is stored but not shown in-app; the
    # editor gets no email; the owner (defaults) gets one.
    assert exceeded.get(user=viewer).in_app is False
    assert sorted(message.to[0] for message in mail.outbox) == sorted([user.email, viewer.email])
    # It says which book, in the book's currency.
    notification = exceeded.get(user=editor)
    assert household.name in notification.title
    assert notification.data["book"] == household.pk
    assert "120.00 USD" in notification.body


def test_a_recheck_skips_alerts_every_member_has_and_tells_a_member_who_lacks_one(
    household, user, editor, viewer
):
    """Writes re-check the month's budgets: alerts every member already holds cost one
    query, not a refused insert per member and budget; a member without it (here: one who
    deleted theirs) is told again, and only they are."""
    for category in ("a", "b", "c"):
        Budget.objects.create(
            book=household,
            user=user,
            month=date(2026, 3, 1),
            scope="category",
            category=Category.objects.create(
                book=household, user=user, name=category, kind=Kind.EXPENSE
            ),
            amount=Decimal(10),
        )
    for budget in Budget.objects.filter(book=household):
        Expense.objects.create(
            book=household,
            user=editor,
            amount=Decimal(50),
            currency="USD",
            base_amount=Decimal(50),
            date=date(2026, 3, 10),
            description="x",
            category=budget.category,
        )
    budget_alerts_for_expense_dates(book=household, user=editor, dates=[date(2026, 3, 10)])
    assert Notification.objects.count() == 9  # 3 budgets × 3 members

    def recheck() -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            budget_alerts_for_expense_dates(book=household, user=editor, dates=[date(2026, 3, 10)])
        return [q["sql"] for q in queries.captured_queries]

    quiet = recheck()
    assert Notification.objects.count() == 9
    assert not [sql for sql in quiet if "INSERT" in sql or "SAVEPOINT" in sql], quiet
    Notification.objects.filter(user=viewer).first().delete()
    recheck()
    assert Notification.objects.count() == 9
    assert Notification.objects.filter(user=viewer).count() == 3


def test_notifications_stay_per_user_and_are_not_served_under_books(
    household, user, editor, client_for
):
    Budget.objects.create(
        book=household, user=user, month=date(2026, 3, 1), scope="overall", amount=Decimal(100)
    )
    spend(household, editor, "100", date(2026, 3, 10))
    budget_alerts_for_expense_dates(book=household, user=editor, dates=[date(2026, 3, 10)])
    client = client_for(editor)
    rows = client.get("/api/v1/notifications/").json()["results"]
    assert [row["data"]["book"] for row in rows] == [household.pk]
    mine = Notification.objects.get(user=editor)
    owners = Notification.objects.get(user=user)
    assert client.get(f"/api/v1/notifications/{owners.pk}/").status_code == 404
    assert client.post(f"/api/v1/notifications/{owners.pk}/read/").status_code == 404
    assert client.get(books_url(household, "notifications/")).status_code == 404
    assert client.post("/api/v1/notifications/read-all/").json() == {"updated": 1}
    mine.refresh_from_db()
    owners.refresh_from_db()
    assert mine.read_at is not None and owners.read_at is None


def test_list_query_count_is_constant_in_a_shared_book(household, user, editor, client_for):
    client = client_for(editor)
    categories = [
        Category.objects.create(book=household, user=user, name=f"c{i}", kind=Kind.EXPENSE)
        for i in range(10)
    ]

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(books_url(household))
        assert response.status_code == 200
        return len(queries)

    Budget.objects.create(
        book=household,
        user=user,
        month=date(2026, 3, 1),
        scope="category",
        category=categories[0],
        amount=Decimal(1),
    )
    one = count()
    for category in categories[1:]:
        Budget.objects.create(
            book=household,
            user=editor,
            month=date(2026, 3, 1),
            scope="category",
            category=category,
            amount=Decimal(1),
        )
    assert count() == one
