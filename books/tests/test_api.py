"""Books, members and invitations through the API (SPEC §14)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from rest_framework import viewsets

from books.models import Book, BookKind, Invitation, Membership, Role
from books.scoping import BookScopedMixin
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def make_book(client, name="Household", **extra):
    response = client.post("/api/v1/books/", {"name": name, **extra}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture(autouse=True)
def _mail_after_commit(django_capture_on_commit_callbacks):
    global _on_commit
    _on_commit = django_capture_on_commit_callbacks


def invite(client, book_id, email, role="editor"):
    mail.outbox.clear()
    with _on_commit(execute=True):
        response = client.post(
            f"/api/v1/books/{book_id}/invitations/", {"email": email, "role": role}, format="json"
        )
    assert response.status_code == 201, response.content
    token = re.search(r"token: (\S+)", mail.outbox[-1].body).group(1)
    return response.json(), token


@pytest.fixture
def household(auth_client, user, other_user, client_for):
    """A shared book owned by `user` with `other_user` as editor."""
    book = make_book(auth_client)
    _, token = invite(auth_client, book["id"], other_user.email, "editor")
    other = client_for(other_user)
    assert (
        other.post("/api/v1/invitations/accept/", {"token": token}, format="json").status_code
        == 200
    )
    return book


def test_every_account_has_one_personal_book(auth_client, user):
    response = auth_client.get("/api/v1/books/")
    assert response.status_code == 200
    [book] = response.json()["results"] if "results" in response.json() else response.json()
    assert book["kind"] == "personal"
    assert book["role"] == "owner"
    assert book["base_currency"] == user.base_currency
    assert Book.objects.filter(personal_owner=user).count() == 1


def test_personal_book_follows_me(auth_client, user):
    response = auth_client.patch(
        "/api/v1/auth/me/", {"month_start_day": 15, "base_currency": "USD"}, format="json"
    )
    assert response.status_code == 200, response.content
    book = Book.objects.get(personal_owner=user)
    assert (book.base_currency, book.month_start_day) == ("USD", 15)


def test_personal_book_settings_are_changed_on_the_account(auth_client, user):
    book = Book.objects.get(personal_owner=user)
    response = auth_client.patch(f"/api/v1/books/{book.pk}/", {"month_start_day": 3}, format="json")
    assert response.status_code == 400
    assert "/auth/me/" in response.json()["detail"]
    renamed = auth_client.patch(f"/api/v1/books/{book.pk}/", {"name": "Mine"}, format="json")
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Mine"


def test_create_shared_book(auth_client, user):
    book = make_book(auth_client, "Flat", base_currency="CHF")
    assert book["kind"] == "shared"
    assert book["role"] == "owner"
    assert book["base_currency"] == "CHF"
    assert book["month_start_day"] == user.month_start_day
    assert Membership.objects.get(book_id=book["id"], user=user).role == Role.OWNER


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "x" * 101},
        {"name": "A", "kind": "personal"},
        {"name": "A", "x": 1},
        {"name": "A", "base_currency": "XXXX"},
        {"name": "A", "month_start_day": 29},
    ],
)
def test_create_book_refuses_bad_input(auth_client, body):
    response = auth_client.post("/api/v1/books/", body, format="json")
    assert response.status_code == 400
    assert Book.objects.filter(kind=BookKind.SHARED).count() == 0


def test_non_member_gets_404_everywhere(auth_client, other_client):
    book = make_book(auth_client)
    for path in (
        f"/api/v1/books/{book['id']}/",
        f"/api/v1/books/{book['id']}/members/",
        f"/api/v1/books/{book['id']}/invitations/",
    ):
        assert other_client.get(path).status_code == 404, path
    assert (
        other_client.patch(
            f"/api/v1/books/{book['id']}/", {"name": "mine"}, format="json"
        ).status_code
        == 404
    )
    assert other_client.delete(f"/api/v1/books/{book['id']}/").status_code == 404
    assert (
        other_client.post(
            f"/api/v1/books/{book['id']}/invitations/",
            {"email": "a@b.c", "role": "owner"},
            format="json",
        ).status_code
        == 404
    )
    assert other_client.get("/api/v1/books/999999/members/").status_code == 404


def test_invitation_round_trip(auth_client, other_user, client_for, household):
    members = auth_client.get(f"/api/v1/books/{household['id']}/members/").json()
    rows = members["results"] if isinstance(members, dict) else members
    assert {(m["user"], m["role"]) for m in rows} >= {(other_user.pk, "editor")}
    other_books = client_for(other_user).get("/api/v1/books/").json()
    other_books = other_books["results"] if isinstance(other_books, dict) else other_books
    assert {(b["id"], b["role"]) for b in other_books} >= {(household["id"], "editor")}


def test_invitation_response_never_carries_the_token(auth_client):
    book = make_book(auth_client)
    body, token = invite(auth_client, book["id"], "sam@example.com", "viewer")
    assert set(body) == {"id", "email", "role", "expires_at", "status", "created_at"}
    assert token not in str(body)
    assert body["status"] == "pending"
    assert Invitation.objects.get(pk=body["id"]).token_hash != token


def test_invitation_token_works_once(auth_client, client_for):
    book = make_book(auth_client)
    invitee = UserFactory(email="kim@example.com")
    _, token = invite(auth_client, book["id"], "KIM@example.com", "viewer")
    client = client_for(invitee)
    accepted = client.post("/api/v1/invitations/accept/", {"token": token}, format="json")
    assert accepted.status_code == 200
    assert accepted.json()["role"] == "viewer"
    again = client.post("/api/v1/invitations/accept/", {"token": token}, format="json")
    assert again.status_code == 400
    assert again.json()["code"] == "invitation_used"


def test_expired_revoked_unknown_and_wrong_user_tokens(auth_client, client_for):
    book = make_book(auth_client)
    kim = UserFactory(email="kim@example.com")
    client = client_for(kim)

    body, token = invite(auth_client, book["id"], "kim@example.com")
    Invitation.objects.filter(pk=body["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = client.post("/api/v1/invitations/accept/", {"token": token}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invitation_expired")

    body, token = invite(auth_client, book["id"], "kim@example.com")
    assert (
        auth_client.delete(f"/api/v1/books/{book['id']}/invitations/{body['id']}/").status_code
        == 204
    )
    response = client.post("/api/v1/invitations/accept/", {"token": token}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invitation_revoked")

    response = client.post("/api/v1/invitations/accept/", {"token": "nope"}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invitation_invalid")

    _, token = invite(auth_client, book["id"], "someone-else@example.com")
    response = client.post("/api/v1/invitations/accept/", {"token": token}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invitation_other_user")
    assert not Membership.objects.filter(book_id=book["id"], user=kim).exists()


def test_reinviting_replaces_the_pending_invitation(auth_client, client_for):
    book = make_book(auth_client)
    kim = UserFactory(email="kim@example.com")
    _, first = invite(auth_client, book["id"], "kim@example.com")
    _, second = invite(auth_client, book["id"], "kim@example.com", "viewer")
    client = client_for(kim)
    assert (
        client.post("/api/v1/invitations/accept/", {"token": first}, format="json").status_code
        == 400
    )
    assert (
        client.post("/api/v1/invitations/accept/", {"token": second}, format="json").status_code
        == 200
    )


def test_inviting_a_member_or_into_a_personal_book(auth_client, user, other_user, household):
    response = auth_client.post(
        f"/api/v1/books/{household['id']}/invitations/",
        {"email": other_user.email, "role": "viewer"},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (409, "already_member")
    personal = Book.objects.get(personal_owner=user)
    response = auth_client.post(
        f"/api/v1/books/{personal.pk}/invitations/",
        {"email": "a@example.com", "role": "viewer"},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (400, "personal_book")


def test_accepting_when_already_a_member(auth_client, other_user, client_for, household):
    invitation = Invitation.objects.create(
        book_id=household["id"],
        email=other_user.email,
        role="viewer",
        token_hash="0" * 64,
        expires_at=timezone.now() + timedelta(days=1),
    )
    import hashlib

    Invitation.objects.filter(pk=invitation.pk).update(
        token_hash=hashlib.sha256(b"tok").hexdigest()
    )
    response = client_for(other_user).post(
        "/api/v1/invitations/accept/", {"token": "tok"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "already_member")


def test_roles(auth_client, other_user, client_for, household):
    base = f"/api/v1/books/{household['id']}"
    editor = client_for(other_user)
    # An editor cannot manage members, invitations or the book.
    assert editor.get(f"{base}/invitations/").status_code == 403
    assert (
        editor.post(
            f"{base}/invitations/", {"email": "z@example.com", "role": "viewer"}, format="json"
        ).status_code
        == 403
    )
    owner_id = Membership.objects.get(book_id=household["id"], role="owner").user_id
    assert (
        editor.patch(f"{base}/members/{owner_id}/", {"role": "viewer"}, format="json").status_code
        == 403
    )
    assert editor.patch(f"{base}/", {"name": "Ours"}, format="json").status_code == 403
    assert editor.delete(f"{base}/members/{owner_id}/").status_code == 403
    # The owner can.
    response = auth_client.patch(
        f"{base}/members/{other_user.pk}/", {"role": "viewer"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["role"] == "viewer"
    viewer = editor
    assert viewer.get(f"{base}/members/").status_code == 200
    assert (
        viewer.patch(
            f"{base}/members/{other_user.pk}/", {"role": "owner"}, format="json"
        ).status_code
        == 403
    )
    response = auth_client.patch(
        f"{base}/members/{other_user.pk}/", {"role": "boss"}, format="json"
    )
    assert response.status_code == 400


def test_last_owner_cannot_leave_or_step_down(auth_client, user, other_user, household):
    base = f"/api/v1/books/{household['id']}"
    response = auth_client.delete(f"{base}/members/{user.pk}/")
    assert (response.status_code, response.json()["code"]) == (409, "last_owner")
    response = auth_client.patch(f"{base}/members/{user.pk}/", {"role": "editor"}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "last_owner")
    # With a second owner, the first may leave.
    assert (
        auth_client.patch(
            f"{base}/members/{other_user.pk}/", {"role": "owner"}, format="json"
        ).status_code
        == 200
    )
    assert auth_client.delete(f"{base}/members/{user.pk}/").status_code == 204
    assert auth_client.get(f"{base}/").status_code == 404


def test_members_leave_and_are_removed(auth_client, user, other_user, client_for, household):
    base = f"/api/v1/books/{household['id']}"
    assert client_for(other_user).delete(f"{base}/members/{other_user.pk}/").status_code == 204
    assert not Membership.objects.filter(book_id=household["id"], user=other_user).exists()
    third = UserFactory()
    Membership.objects.create(book_id=household["id"], user=third, role="viewer")
    assert auth_client.delete(f"{base}/members/{third.pk}/").status_code == 204
    assert auth_client.delete(f"{base}/members/{third.pk}/").status_code == 404


def test_delete_book(auth_client, user, other_user, household):
    base = f"/api/v1/books/{household['id']}/"
    response = auth_client.delete(base)
    assert (response.status_code, response.json()["code"]) == (409, "book_has_members")
    Membership.objects.filter(book_id=household["id"], user=other_user).delete()
    assert auth_client.delete(base).status_code == 204
    assert not Book.objects.filter(pk=household["id"]).exists()
    personal = Book.objects.get(personal_owner=user)
    response = auth_client.delete(f"/api/v1/books/{personal.pk}/")
    assert (response.status_code, response.json()["code"]) == (409, "personal_book")


def test_deleting_an_account_hands_shared_books_on(user, other_user, household):
    user_id = user.pk
    user.delete()
    assert Membership.objects.get(book_id=household["id"], user=other_user).role == Role.OWNER
    assert not Book.objects.filter(personal_owner_id=user_id).exists()
    assert Book.objects.filter(kind=BookKind.PERSONAL).count() == 1


def test_a_shared_book_alone_goes_with_its_account(auth_client, user):
    book = make_book(auth_client)
    user.delete()
    assert not Book.objects.filter(pk=book["id"]).exists()


def test_a_scoped_view_cannot_define_its_own_queryset():
    with pytest.raises(ImproperlyConfigured, match="safely_get_queryset"):

        class Leaky(BookScopedMixin, viewsets.GenericViewSet):
            def get_queryset(self):
                return Book.objects.all()

    with pytest.raises(ImproperlyConfigured, match="get_object"):

        class Leakier(BookScopedMixin, viewsets.GenericViewSet):
            def get_object(self):
                return None
