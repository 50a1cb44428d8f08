"""Books: who holds which records, and who may see and change them (SPEC §14).

Every record of the domain apps belongs to a book (`BookOwnedModel`). Each user has
exactly one personal book, created with the account (the database enforces "one" by a
one-to-one key); shared books have members with roles. Whether a request may touch a
book is decided in one place, `books.scoping`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from core.money import default_currency, validate_currency_code

BOOK_NAME_MAX_LENGTH = 100


# Limits of a `shares` split, whether asked on an expense (`expenses.splits`) or set as a
# book's default split (`books.services`).
SHARE_WEIGHT_MAX = Decimal(1_000_000)
SPLIT_VALUE_PLACES = 6


class BookKind(models.TextChoices):
    PERSONAL = "personal", "Personal"
    SHARED = "shared", "Shared"


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


# What each role may do, weakest first: a role includes the rights of those before it.
ROLE_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.OWNER: 2}


def role_allows(role: str | None, needed: str) -> bool:
    return role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[Role(needed)]


class BookQuerySet(models.QuerySet):
    def for_member(self, user: Any) -> BookQuerySet:
        """The books `user` is a member of, each annotated with their `role`."""
        return self.filter(memberships__user=user).annotate(role=models.F("memberships__role"))


class Book(models.Model):
    name = models.CharField(max_length=BOOK_NAME_MAX_LENGTH)
    kind = models.CharField(max_length=10, choices=BookKind.choices, default=BookKind.SHARED)
    # Set exactly for personal books: at most one per user, and it goes with the account.
    personal_owner = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="personal_book",
    )
    base_currency = models.CharField(
        max_length=3, default=default_currency, validators=[validate_currency_code]
    )
    month_start_day = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(28)]
    )
    # How expenses that arrive without a split (imports, recurring items) are split in a
    # shared book (SPEC §15): null = equally among the members at the time, or
    # {"mode": "shares", "parts": [{"user": id, "value": "2"}, ...]}. Set by an owner.
    default_split = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BookQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind=BookKind.PERSONAL, personal_owner__isnull=False)
                    | models.Q(kind=BookKind.SHARED, personal_owner__isnull=True)
                ),
                name="books_book_personal_has_owner",
            ),
            models.CheckConstraint(
                condition=models.Q(month_start_day__gte=1, month_start_day__lte=28),
                name="books_book_month_start_day_1_28",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_personal(self) -> bool:
        return self.kind == BookKind.PERSONAL


class Membership(models.Model):
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="book_memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["book", "user"], name="books_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.book_id} ({self.role})"


class Invitation(models.Model):
    """An invitation by email; the one-time token is mailed and only its hash is stored."""

    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.email} to {self.book_id}"


def personal_book_id(user_id: Any) -> int | None:
    return Book.objects.filter(personal_owner_id=user_id).values_list("id", flat=True).first()


def fill_personal_book(record: Any) -> None:
    """A record saved without a book goes to its creator's personal book."""
    if record.book_id is None and record.user_id is not None:
        record.book_id = personal_book_id(record.user_id)


class BookOwnedModel(models.Model):
    """A record held by a book. `user` is the member who created it.

    A record saved without a book goes to its user's personal book — what the top-level
    paths (`/api/v1/expenses/` …) mean (SPEC §14). Bulk writes set `book` themselves.
    """

    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="+", editable=False)
    # Kept when the member leaves; cleared (the record stays in the book) when they
    # delete their account — their personal book and its records go with it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        fill_personal_book(self)
        super().save(*args, **kwargs)
