"""/recurring/ as a client sees it (SPEC §3, §12)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from categories.models import Category
from categories.tests.factories import CategoryFactory
from expenses.models import Expense
from recurring.models import RecurringItem
from recurring.services import create_due_occurrences

from .factories import RecurringItemFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/recurring/"
UPCOMING = f"{URL}upcoming/"
TODAY = date(2026, 3, 10)


@pytest.fixture(autouse=True)
def _today(travel_to):
    travel_to(TODAY)


def detail(item_id):
    return f"{URL}{item_id}/"


def create(client, **data):
    body = {
        "kind": "expense",
        "amount": "1200.00",
        "description": "Rent",
        "frequency": "monthly",
        "start_date": "2026-01-31",
    }
    body.update(data)
    return client.post(URL, body, format="json")


def system_category(kind, name):
    return Category.objects.get(user__isnull=True, kind=kind, name=name)


# --- CRUD --------------------------------------------------------------------------


def test_create_returns_the_item_with_its_next_date(auth_client, user):
    response = create(auth_client, merchant="Landlord", remind_days_before=3)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body == {
        "id": body["id"],
        "kind": "expense",
        "amount": "1200.00",
        "currency": "USD",
        "description": "Rent",
        "category": None,
        "category_name": None,
        "merchant": "Landlord",
        "payment_method": "other",
        "frequency": "monthly",
        "interval": 1,
        "start_date": "2026-01-31",
        "end_date": None,
        "next_date": "2026-03-31",
        "auto_create": True,
        "remind_days_before": 3,
        "active": True,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    assert RecurringItem.objects.get(pk=body["id"]).user == user


def test_create_income_in_another_currency_with_a_system_category(auth_client):
    salary = system_category("income", "Salary")
    response = create(
        auth_client,
        kind="income",
        amount=300000,
        currency="JPY",
        description="Salary",
        merchant="ACME",
        category=salary.pk,
        start_date="2026-02-25",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["amount"], body["currency"], body["category_name"]) == ("300000", "JPY", "Salary")
    assert body["next_date"] == "2026-03-25"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"end_date": "2026-01-30"}, "end_date"),
        ({"interval": 0}, "interval"),
        ({"frequency": "hourly"}, "frequency"),
        ({"kind": "transfer"}, "kind"),
        ({"amount": "0"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "12.345"}, "amount"),
        ({"amount": "10.5", "currency": "JPY"}, "amount"),
        ({"amount": "1000000000000"}, "amount"),
        ({"currency": "usd"}, "currency"),
        ({"currency": "XXY"}, "currency"),
        ({"remind_days_before": 61}, "remind_days_before"),
        ({"remind_days_before": -1}, "remind_days_before"),
        ({"description": "  "}, "description"),
        ({"start_date": "2026-02-30"}, "start_date"),
        ({"payment_method": "cheque"}, "payment_method"),
        ({"kind": "income", "payment_method": "card"}, "payment_method"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(auth_client, data, field):
    response = create(auth_client, **data)
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not RecurringItem.objects.exists()


def test_category_must_be_visible_and_of_the_items_kind(auth_client, user, other_user):
    theirs = CategoryFactory(user=other_user, kind="expense")
    response = create(auth_client, category=theirs.pk)
    assert response.status_code == 400 and "category" in response.json()

    food = system_category("expense", "Food")
    response = create(auth_client, kind="income", category=food.pk)
    assert response.status_code == 400 and "category" in response.json()

    salary = CategoryFactory(user=user, kind="income")
    response = create(auth_client, kind="expense", category=salary.pk)
    assert response.status_code == 400 and "category" in response.json()
    assert not RecurringItem.objects.exists()


def test_update_validates_against_the_stored_values(auth_client, user):
    food = CategoryFactory(user=user, kind="expense")
    item = RecurringItemFactory(
        user=user, category=food, start_date=date(2026, 2, 1), amount=Decimal("12.50")
    )

    response = auth_client.patch(detail(item.pk), {"end_date": "2026-01-31"}, format="json")
    assert response.status_code == 400 and "end_date" in response.json()
    response = auth_client.patch(detail(item.pk), {"kind": "income"}, format="json")
    assert response.status_code == 400 and "category" in response.json()
    response = auth_client.patch(detail(item.pk), {"currency": "JPY"}, format="json")
    assert response.status_code == 400 and "amount" in response.json()  # 12.50 JPY

    response = auth_client.patch(
        detail(item.pk),
        {"amount": "75", "interval": 2, "end_date": "2026-12-31", "active": False},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["amount"], body["interval"], body["active"], body["next_date"]) == (
        "75.00",
        2,
        False,
        None,
    )


def test_changing_kind_to_income_resets_the_payment_method(auth_client, user):
    item = RecurringItemFactory(user=user, payment_method="card")
    response = auth_client.patch(detail(item.pk), {"kind": "income"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["payment_method"] == "other"


def test_delete_keeps_the_transactions_it_created(auth_client, user):
    item = RecurringItemFactory(user=user, start_date=date(2026, 3, 1))
    create_due_occurrences(today=TODAY)
    assert auth_client.delete(detail(item.pk)).status_code == 204
    assert not RecurringItem.objects.exists()
    assert Expense.objects.filter(user=user).count() == 1
    assert create_due_occurrences(today=TODAY) == 0


def test_another_users_item_is_not_found(auth_client, other_user):
    theirs = RecurringItemFactory(user=other_user)
    assert auth_client.get(detail(theirs.pk)).status_code == 404
    assert auth_client.patch(detail(theirs.pk), {"amount": "1"}, format="json").status_code == 404
    assert auth_client.put(detail(theirs.pk), {}, format="json").status_code == 404
    assert auth_client.delete(detail(theirs.pk)).status_code == 404
    assert auth_client.get(f"{detail(theirs.pk)}occurrences/").status_code == 404
    assert auth_client.get(URL).json()["count"] == 0
    assert RecurringItem.objects.get(pk=theirs.pk).amount == Decimal("50.00")


def test_needs_authentication(api_client):
    assert api_client.get(URL).status_code == 401
    assert api_client.get(UPCOMING).status_code == 401


def test_list_filters_and_ordering(auth_client, user):
    rent = RecurringItemFactory(user=user, description="Rent")
    pay = RecurringItemFactory(user=user, kind="income", description="Pay", frequency="weekly")
    old = RecurringItemFactory(user=user, description="Old", active=False)

    def ids(query=""):
        response = auth_client.get(URL + query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [old.pk, pay.pk, rent.pk]  # newest first
    assert ids("?kind=income") == [pay.pk]
    assert ids("?active=false") == [old.pk]
    assert ids("?frequency=weekly") == [pay.pk]
    assert ids("?ordering=description") == [old.pk, pay.pk, rent.pk]
    for bad in ("?kind=transfer", "?active=maybe", "?frequency=hourly", "?ordering=next_date"):
        assert auth_client.get(URL + bad).status_code == 400, bad


def test_list_runs_a_constant_number_of_queries(auth_client, user):
    food = CategoryFactory(user=user)

    def make(count):
        for _ in range(count):
            RecurringItemFactory(user=user, category=food, frequency="daily")

    def list_queries():
        with CaptureQueriesContext(connection) as queries:
            response = auth_client.get(URL)
        assert response.status_code == 200
        return len(queries), response.json()

    make(2)
    few, _ = list_queries()
    make(20)
    many, body = list_queries()
    assert body["count"] == 22
    assert body["results"][0]["category_name"] == food.name
    assert many == few


# --- upcoming ----------------------------------------------------------------------


def test_upcoming_lists_the_next_30_days_by_date_then_description(auth_client, user, other_user):
    RecurringItemFactory(user=user, description="Rent", amount=Decimal("1200"))
    RecurringItemFactory(user=user, description="Internet", start_date=date(2026, 1, 31))
    RecurringItemFactory(
        user=user, kind="income", description="Salary", start_date=date(2026, 2, 25)
    )
    RecurringItemFactory(user=user, description="Paused", active=False)
    RecurringItemFactory(user=other_user, description="Theirs")

    response = auth_client.get(UPCOMING)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 3
    assert [(row["date"], row["description"], row["kind"]) for row in body["results"]] == [
        ("2026-03-25", "Salary", "income"),
        ("2026-03-31", "Internet", "expense"),
        ("2026-03-31", "Rent", "expense"),
    ]
    assert body["results"][2]["amount"] == "1200.00"
    assert body["results"][2]["currency"] == "USD"
    assert [
        r["description"] for r in auth_client.get(UPCOMING + "?kind=expense").json()["results"]
    ] == ["Internet", "Rent"]


def test_upcoming_days_bounds(auth_client, user):
    RecurringItemFactory(user=user, frequency="daily", start_date=date(2026, 1, 1))
    assert auth_client.get(UPCOMING + "?days=1").json()["count"] == 2  # today and tomorrow
    assert auth_client.get(UPCOMING + "?days=366&page_size=500").json()["count"] == 367
    for bad in ("0", "367", "-1", "abc", "1.5"):
        response = auth_client.get(UPCOMING + f"?days={bad}")
        assert response.status_code == 400, bad
        assert "days" in response.json()
    assert auth_client.get(UPCOMING + "?kind=transfer").status_code == 400


def test_the_dashboard_shows_upcoming_bills(auth_client, user):
    RecurringItemFactory(user=user, description="Rent")
    RecurringItemFactory(user=user, kind="income", description="Salary")
    response = auth_client.get("/api/v1/reports/dashboard/")
    assert response.status_code == 200, response.content
    assert [bill["description"] for bill in response.json()["upcoming_bills"]] == ["Rent"]


# --- occurrences -------------------------------------------------------------------


def test_occurrences_show_what_the_jobs_recorded(auth_client, user):
    item = RecurringItemFactory(user=user, start_date=date(2026, 1, 31))
    create_due_occurrences(today=TODAY)
    expense_ids = list(Expense.objects.order_by("date").values_list("pk", flat=True))

    response = auth_client.get(f"{detail(item.pk)}occurrences/?start=2026-01-01&end=2026-04-30")

    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert [(r["date"], r["expense"], r["scheduled"]) for r in rows] == [
        ("2026-01-31", expense_ids[0], True),
        ("2026-02-28", expense_ids[1], True),
        ("2026-03-31", None, True),
        ("2026-04-30", None, True),
    ]
    assert rows[0]["recorded_at"] is not None and rows[2]["recorded_at"] is None

    default = auth_client.get(f"{detail(item.pk)}occurrences/").json()
    assert default["count"] == 12 and default["results"][0]["date"] == "2026-03-31"


@pytest.mark.parametrize(
    "query",
    ["?start=2026-05-01&end=2026-04-01", "?end=2026-01-01", "?start=2000-01-01&end=2026-01-01"],
)
def test_occurrences_bad_range_is_a_400_naming_end(auth_client, user, query):
    item = RecurringItemFactory(user=user)
    response = auth_client.get(f"{detail(item.pk)}occurrences/{query}")
    assert response.status_code == 400
    assert "end" in response.json()


def test_occurrences_bad_date_is_a_400_naming_it(auth_client, user):
    item = RecurringItemFactory(user=user)
    response = auth_client.get(f"{detail(item.pk)}occurrences/?start=soon")
    assert response.status_code == 400 and "start" in response.json()


# --- other apps see recurring items ------------------------------------------------


def test_a_category_used_by_an_item_cannot_be_deleted_without_reassigning(auth_client, user):
    housing = CategoryFactory(user=user, name="Housing")
    other = CategoryFactory(user=user, name="Home")
    item = RecurringItemFactory(user=user, category=housing)
    response = auth_client.delete(f"/api/v1/categories/{housing.pk}/")
    assert response.status_code == 409
    assert "1 recurring item" in response.json()["detail"]
    response = auth_client.delete(f"/api/v1/categories/{housing.pk}/?reassign_to={other.pk}")
    assert response.status_code == 204
    item.refresh_from_db()
    assert item.category == other


def test_deleting_the_account_deletes_items_and_their_occurrences(auth_client, user, password):
    from categories.tests.factories import CategoryFactory

    own = CategoryFactory(user=user, kind="expense")
    RecurringItemFactory(user=user, category=own, start_date=date(2026, 3, 1))
    create_due_occurrences(today=TODAY)
    response = auth_client.delete("/api/v1/auth/me/", {"password": password}, format="json")
    assert response.status_code == 204, response.content
    assert not RecurringItem.objects.exists()
