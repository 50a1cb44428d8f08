"""Deleting an account in a world of books (SPEC §14): the personal book goes with its
records and their files; what the user wrote in shared books stays there."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from books.models import Book, Membership, Role
from expenses.models import Expense
from users.models import BaseCurrencyChange
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def files_in(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _expense(client, prefix: str, description: str, amount: str = "9.99") -> dict:
    body = {
        "amount": amount,
        "date": "2026-03-10",
        "description": description,
        "receipt": SimpleUploadedFile("r.png", PNG, content_type="image/png"),
    }
    response = client.post(f"/api/v1{prefix}/expenses/", body, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def test_deleting_an_account_takes_the_personal_book_and_keeps_shared_records(
    auth_client,
    user,
    other_user,
    other_client,
    password,
    shared_book,
    media,
    django_capture_on_commit_callbacks,
):
    household = shared_book(owner=user, editors=[other_user])
    alone = shared_book(owner=user, name="Alone")
    personal_id = user.personal_book.pk
    _expense(auth_client, "", "mine")
    _expense(auth_client, f"/books/{alone.pk}", "alone")
    shared = _expense(auth_client, f"/books/{household.pk}", "shared by me")
    # Not the same amount: with the odd cents rotating by expense id, two equal 9.99
    # expenses could leave them square (4.99 + 5.00 each); 20.00 leaves user owing 5.00
    # or 5.01 whichever way the cents fall.
    theirs = _expense(other_client, f"/books/{household.pk}", "shared by them", "20.00")
    assert len(files_in(media)) == 4
    BaseCurrencyChange.objects.create(
        book=household, user=user, from_currency="USD", to_currency="GBP", status="done"
    )

    # Not while they owe or are owed in the household (SPEC §15): settle up first.
    response = auth_client.delete("/api/v1/auth/me/", {"password": password}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "balance_not_settled"
    settle = auth_client.get(f"/api/v1/books/{household.pk}/settle-up/").json()["transfers"]
    assert len(settle) == 1
    for transfer in settle:
        recorded = auth_client.post(
            f"/api/v1/books/{household.pk}/settlements/",
            {**transfer, "date": "2026-03-11"},
            format="json",
        )
        assert recorded.status_code == 201, recorded.json()

    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.delete("/api/v1/auth/me/", {"password": password}, format="json")
    assert response.status_code == 204

    # The personal book, the book they were alone in, and the records of both are gone.
    assert not Book.objects.filter(pk__in=[personal_id, alone.pk]).exists()
    assert not Expense.objects.filter(description__in=["mine", "alone"]).exists()
    # The shared book stays with both members' records, handed on to the other member.
    kept = Expense.objects.filter(book=household).order_by("description")
    assert [(e.description, e.user_id) for e in kept] == [
        ("shared by me", None),
        ("shared by them", other_user.pk),
    ]
    assert Membership.objects.get(book=household).role == Role.OWNER
    # Only the files of the records that went are deleted, after the commit.
    assert files_in(media) == sorted(e.receipt.name for e in kept)
    listed = other_client.get(f"/api/v1/books/{household.pk}/expenses/").json()["results"]
    assert {row["id"] for row in listed} == {shared["id"], theirs["id"]}
    # The change the user asked for in the shared book stays on its record.
    change = BaseCurrencyChange.objects.get(book=household)
    assert change.user_id is None
    shown = other_client.get(f"/api/v1/books/{household.pk}/").json()
    assert shown["base_currency_change"]["id"] == change.pk


def test_a_failed_account_deletion_keeps_every_book_and_file(
    auth_client, user, shared_book, media, django_capture_on_commit_callbacks, monkeypatch
):
    from users import services

    alone = shared_book(owner=user, name="Alone")
    _expense(auth_client, "", "mine")
    _expense(auth_client, f"/books/{alone.pk}", "alone")

    def refuse(self, *args, **kwargs):
        raise RuntimeError("delete failed")

    monkeypatch.setattr(type(user), "delete", refuse)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        services.user_delete(user=user)
    assert len(files_in(media)) == 2
    assert Book.objects.filter(pk__in=[user.personal_book.pk, alone.pk]).count() == 2


def test_the_personal_book_follows_the_account_settings(auth_client, user):
    response = auth_client.patch(
        "/api/v1/auth/me/", {"month_start_day": 15, "base_currency": "USD"}, format="json"
    )
    assert response.status_code == 200
    book = Book.objects.get(personal_owner=user)
    assert (book.month_start_day, book.base_currency) == (15, "USD")
    other = UserFactory(base_currency="EUR")
    assert Book.objects.get(personal_owner=other).base_currency == "EUR"
