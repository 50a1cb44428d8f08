"""Invitations accepted twice at once make one membership (PostgreSQL row locks)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from books.models import Book, BookKind, Invitation, Membership, Role
from tests.concurrency import require_postgresql, run_concurrently
from users.tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_one_invitation_accepted_twice_at_once_makes_one_membership(client_for):
    require_postgresql()
    owner = UserFactory()
    invitee = UserFactory(email="kim@example.com")
    book = Book.objects.create(name="Flat", kind=BookKind.SHARED)
    Membership.objects.create(book=book, user=owner, role=Role.OWNER)
    Invitation.objects.create(
        book=book,
        email="kim@example.com",
        role=Role.EDITOR,
        token_hash=hashlib.sha256(b"the-token").hexdigest(),
        expires_at=timezone.now() + timedelta(days=1),
    )

    def accept(_: int) -> int:
        return (
            client_for(invitee)
            .post("/api/v1/invitations/accept/", {"token": "the-token"}, format="json")
            .status_code
        )

    results, errors = run_concurrently(accept, threads=8)
    assert errors == []
    assert sorted(results) == [200] + [400] * 7
    assert Membership.objects.filter(book=book, user=invitee).count() == 1
