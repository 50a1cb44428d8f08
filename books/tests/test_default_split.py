"""A shared book's default split (SPEC §15): set by an owner on the book, checked against
its members, kept in step when a member leaves, and used by expenses that come without
a split."""

from __future__ import annotations

from decimal import Decimal

import pytest

from books.models import Book, Membership
from expenses.models import ExpenseShare
from expenses.splits import book_member_ids, default_split
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def third_user(db):
    return UserFactory()


@pytest.fixture
def household(shared_book, other_user, third_user):
    """Owned by `user`; `other_user` editor, `third_user` viewer."""
    return shared_book(editors=[other_user], viewers=[third_user])


def patch(client, book, body):
    return client.patch(f"/api/v1/books/{book.pk}/", body, format="json")


def shares_body(*parts):
    return {
        "default_split": {
            "mode": "shares",
            "parts": [{"user": user.pk, "value": value} for user, value in parts],
        }
    }


def test_new_shared_book_splits_equally(auth_client, household):
    response = auth_client.get(f"/api/v1/books/{household.pk}/")
    assert response.status_code == 200
    assert response.json()["default_split"] is None


def test_owner_sets_fixed_shares(auth_client, household, user, other_user):
    response = patch(auth_client, household, shares_body((other_user, "1"), (user, "2.50")))
    assert response.status_code == 200, response.content
    expected = {
        "mode": "shares",
        "parts": sorted(
            [{"user": user.pk, "value": "2.5"}, {"user": other_user.pk, "value": "1"}],
            key=lambda part: part["user"],
        ),
    }
    assert response.json()["default_split"] == expected
    household.refresh_from_db()
    assert household.default_split == expected  # values stored as strings
    assert auth_client.get(f"/api/v1/books/{household.pk}/").json()["default_split"] == expected
    # What expenses without a split get.
    mode, parts = default_split(household, book_member_ids(household))
    assert mode == "shares"
    assert {part["user"]: part["value"] for part in parts} == {
        user.pk: Decimal("2.5"),
        other_user.pk: Decimal(1),
    }


def test_numbers_are_accepted_and_stored_as_strings(auth_client, household, user):
    response = auth_client.patch(
        f"/api/v1/books/{household.pk}/",
        f'{{"default_split": {{"mode": "shares", "parts": [{{"user": {user.pk}, '
        f'"value": 1.25}}]}}}}',
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    household.refresh_from_db()
    assert household.default_split["parts"] == [{"user": user.pk, "value": "1.25"}]


@pytest.mark.parametrize("equal", [None, {"mode": "equal"}, {"mode": "equal", "parts": []}])
def test_back_to_equal(auth_client, household, user, equal):
    assert patch(auth_client, household, shares_body((user, "3"))).status_code == 200
    response = patch(auth_client, household, {"default_split": equal})
    assert response.status_code == 200, response.content
    assert response.json()["default_split"] is None
    household.refresh_from_db()
    assert household.default_split is None


def test_editors_and_viewers_cannot_set_it(client_for, household, other_user, third_user):
    for member in (other_user, third_user):
        response = patch(client_for(member), household, shares_body((other_user, "1")))
        assert response.status_code == 403, response.content
    household.refresh_from_db()
    assert household.default_split is None


def test_non_members_get_404(client_for, household):
    response = patch(client_for(UserFactory()), household, {"default_split": None})
    assert response.status_code == 404


def _bad_bodies(user, other_user, stranger):
    def one(value):
        return {"mode": "shares", "parts": [{"user": user.pk, "value": value}]}

    return [
        ({"mode": "exact", "parts": []}, "Unknown default split mode"),
        ({"mode": "percent"}, "Unknown default split mode"),
        ({"parts": []}, "Unknown default split mode"),
        ("equal", "Use null"),
        ([{"user": user.pk}], "Use null"),
        ({"mode": "equal", "colour": "red"}, "Unknown field 'colour'"),
        ({"mode": "equal", "parts": [{"user": user.pk, "value": "1"}]}, "takes no parts"),
        ({"mode": "shares"}, "needs parts"),
        ({"mode": "shares", "parts": []}, "needs parts"),
        ({"mode": "shares", "parts": {"user": user.pk}}, "needs parts"),
        ({"mode": "shares", "parts": [{"user": user.pk}]}, "Part 0: use"),
        ({"mode": "shares", "parts": ["x"]}, "Part 0: use"),
        (
            {"mode": "shares", "parts": [{"user": user.pk, "value": "1", "x": 1}]},
            "Part 0: use",
        ),
        (
            {"mode": "shares", "parts": [{"user": stranger.pk, "value": "1"}]},
            f"user {stranger.pk} is not a member",
        ),
        ({"mode": "shares", "parts": [{"user": "x", "value": "1"}]}, "is not a member"),
        ({"mode": "shares", "parts": [{"user": True, "value": "1"}]}, "is not a member"),
        (
            {
                "mode": "shares",
                "parts": [
                    {"user": other_user.pk, "value": "1"},
                    {"user": other_user.pk, "value": "2"},
                ],
            },
            "appears twice",
        ),
        (one("0"), "greater than 0"),
        (one("-1"), "greater than 0"),
        (one("1000000.000001"), "at most 1000000"),
        (one("0.0000001"), "at most 6 decimal places"),
        (one("abc"), f"Part of user {user.pk}:"),
        (one(None), f"Part of user {user.pk}:"),
        (one(True), f"Part of user {user.pk}:"),
    ]


def test_bad_default_splits_are_400_naming_the_problem(auth_client, household, user, other_user):
    stranger = UserFactory()
    assert patch(auth_client, household, shares_body((user, "2"))).status_code == 200
    for value, message in _bad_bodies(user, other_user, stranger):
        response = patch(auth_client, household, {"default_split": value, "name": "Renamed"})
        assert response.status_code == 400, (value, response.content)
        problems = response.json()["default_split"]
        assert any(message in problem for problem in problems), (value, problems)
    household.refresh_from_db()
    # Nothing written, the name neither.
    assert household.default_split == {"mode": "shares", "parts": [{"user": user.pk, "value": "2"}]}
    assert household.name == "Household"


def test_the_largest_weight_and_the_most_places_are_accepted(auth_client, household, user):
    body = {
        "default_split": {
            "mode": "shares",
            "parts": [{"user": user.pk, "value": "1000000"}],
        }
    }
    assert patch(auth_client, household, body).status_code == 200
    body["default_split"]["parts"][0]["value"] = "0.000001"
    assert patch(auth_client, household, body).status_code == 200


def test_not_on_create(auth_client, user):
    response = auth_client.post(
        "/api/v1/books/",
        {"name": "Flat", **shares_body((user, "1"))},
        format="json",
    )
    assert response.status_code == 400
    assert "PATCH" in response.json()["default_split"][0]
    assert not Book.objects.filter(name="Flat").exists()


def test_personal_books_have_none(auth_client, user):
    book = Book.objects.get(personal_owner=user)
    for value in ({"mode": "equal"}, shares_body((user, "1"))["default_split"]):
        response = patch(auth_client, book, {"default_split": value})
        assert response.status_code == 400, response.content
        assert "personal book" in response.json()["default_split"][0]
    assert patch(auth_client, book, {"default_split": None}).status_code == 200
    book.refresh_from_db()
    assert book.default_split is None
    assert auth_client.get(f"/api/v1/books/{book.pk}/").json()["default_split"] is None


def test_a_member_who_leaves_leaves_the_default_split(
    auth_client, client_for, household, user, other_user, third_user
):
    body = shares_body((user, "2"), (other_user, "1"), (third_user, "3"))
    assert patch(auth_client, household, body).status_code == 200
    # The viewer leaves by themselves, the editor is removed by the owner.
    response = client_for(third_user).delete(
        f"/api/v1/books/{household.pk}/members/{third_user.pk}/"
    )
    assert response.status_code == 204, response.content
    household.refresh_from_db()
    assert household.default_split == {
        "mode": "shares",
        "parts": sorted(
            [{"user": user.pk, "value": "2"}, {"user": other_user.pk, "value": "1"}],
            key=lambda part: part["user"],
        ),
    }
    response = auth_client.delete(f"/api/v1/books/{household.pk}/members/{other_user.pk}/")
    assert response.status_code == 204, response.content
    household.refresh_from_db()
    assert household.default_split == {
        "mode": "shares",
        "parts": [{"user": user.pk, "value": "2"}],
    }


def test_the_last_part_leaving_means_equal(auth_client, client_for, household, other_user):
    assert patch(auth_client, household, shares_body((other_user, "1"))).status_code == 200
    response = client_for(other_user).delete(
        f"/api/v1/books/{household.pk}/members/{other_user.pk}/"
    )
    assert response.status_code == 204
    household.refresh_from_db()
    assert household.default_split is None


def test_a_member_outside_the_split_leaving_changes_nothing(
    auth_client, household, user, other_user, third_user
):
    body = shares_body((user, "2"), (other_user, "1"))
    assert patch(auth_client, household, body).status_code == 200
    household.refresh_from_db()
    before = household.default_split
    response = auth_client.delete(f"/api/v1/books/{household.pk}/members/{third_user.pk}/")
    assert response.status_code == 204
    household.refresh_from_db()
    assert household.default_split == before
    assert not Membership.objects.filter(book=household, user=third_user).exists()


def test_expense_without_a_split_takes_the_default(auth_client, household, user, other_user):
    assert patch(auth_client, household, shares_body((user, "2"), (other_user, "1"))).status_code
    response = auth_client.post(
        f"/api/v1/books/{household.pk}/expenses/",
        {
            "amount": "10.00",
            "currency": household.base_currency,
            "date": "2026-03-01",
            "description": "Groceries",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    shares = dict(
        ExpenseShare.objects.filter(expense_id=response.json()["id"]).values_list(
            "user_id", "amount"
        )
    )
    assert shares == {user.pk: Decimal("6.67"), other_user.pk: Decimal("3.33")}


def test_a_deleted_account_leaves_the_default_split(
    auth_client, client_for, household, user, other_user, third_user, password
):
    body = shares_body((user, "2"), (other_user, "1"), (third_user, "3"))
    assert patch(auth_client, household, body).status_code == 200
    response = client_for(third_user).delete(
        "/api/v1/auth/me/", {"password": password}, format="json"
    )
    assert response.status_code == 204, response.content
    household.refresh_from_db()
    assert household.default_split == {
        "mode": "shares",
        "parts": sorted(
            [{"user": user.pk, "value": "2"}, {"user": other_user.pk, "value": "1"}],
            key=lambda part: part["user"],
        ),
    }
