"""Splits on shared-book expenses through the API (SPEC §15)."""

from decimal import Decimal

import pytest

from expenses.models import ExpenseShare

pytestmark = pytest.mark.django_db


@pytest.fixture
def trio(shared_book, user, other_user, django_user_model):
    third = django_user_model.objects.create_user(username="third", password="x" * 12)
    book = shared_book(editors=[other_user, third], base_currency="EUR")
    return book, [user, other_user, third]


def url(book, pk=None):
    base = f"/api/v1/books/{book.pk}/expenses/"
    return f"{base}{pk}/" if pk else base


def test_default_is_equal_among_members_paid_by_caller(auth_client, trio):
    book, people = trio
    response = auth_client.post(
        url(book), {"amount": "10.00", "date": "2026-03-01", "description": "Pizza"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["paid_by"] == people[0].pk
    assert body["split"]["mode"] == "equal"
    amounts = [part["amount"] for part in body["split"]["parts"]]
    # 10.00 / 3: the odd cent goes to the lowest user id.
    assert amounts == ["3.34", "3.33", "3.33"]
    assert [part["user"] for part in body["split"]["parts"]] == sorted(p.pk for p in people)


def test_exact_parts_must_sum_and_nothing_is_written(auth_client, trio):
    book, people = trio
    response = auth_client.post(
        url(book),
        {
            "amount": "10.00",
            "date": "2026-03-01",
            "description": "Pizza",
            "split": {
                "mode": "exact",
                "parts": [
                    {"user": people[0].pk, "value": "4"},
                    {"user": people[1].pk, "value": "5"},
                ],
            },
        },
        format="json",
    )
    assert response.status_code == 400
    assert "split" in response.json()
    assert not ExpenseShare.objects.exists()


def test_personal_book_refuses_a_split(auth_client, user):
    response = auth_client.post(
        "/api/v1/expenses/",
        {"amount": "10.00", "date": "2026-03-01", "description": "x", "paid_by": user.pk},
        format="json",
    )
    assert response.status_code == 400
    assert "paid_by" in response.json()


def test_amount_change_resplits(auth_client, trio):
    book, people = trio
    created = auth_client.post(
        url(book),
        {
            "amount": "10.00",
            "date": "2026-03-01",
            "description": "Pizza",
            "split": {
                "mode": "percent",
                "parts": [
                    {"user": people[1].pk, "value": "50"},
                    {"user": people[2].pk, "value": "50"},
                ],
            },
        },
        format="json",
    ).json()
    response = auth_client.patch(url(book, created["id"]), {"amount": "7.01"}, format="json")
    assert response.status_code == 200, response.json()
    parts = response.json()["split"]["parts"]
    assert sum(Decimal(part["amount"]) for part in parts) == Decimal("7.01")
    assert sum(Decimal(part["base_amount"]) for part in parts) == Decimal("7.01")
