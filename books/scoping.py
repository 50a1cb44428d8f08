"""The one rule for who may touch which records (SPEC §14), in one place.

Every view over book-held records inherits `BookScopedMixin`. It resolves the book from
the URL (`/api/v1/books/{book_id}/…`) or, on the top-level paths, the caller's personal
book; checks the caller's membership (not a member → 404, as if the book did not exist)
and role (viewers read; editors write records; owners manage the book); and is the only
way such a view gets its queryset or an object: a subclass that defines `get_queryset`
or `get_object` is refused when the class is created (the way PostHog's routing mixin
does it), so an endpoint cannot forget the filter. Subclasses narrow the queryset in
`safely_get_queryset`. Ids in request bodies and filters go through the same scope
(`BookPrimaryKeyRelatedField`, `book_queryset`), so another book's id "does not exist".
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Q, QuerySet
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

from .models import Book, Membership, Role, role_allows

BOOK_URL_KWARG = "book_id"
BOOK_NOT_FOUND = "No such book among yours."
ROLE_REFUSED = {
    Role.EDITOR: "Your role in this book is viewer: you can read its records, not change them.",
    Role.OWNER: "Only an owner of this book can do this.",
}


def resolve_book(user: Any, book_id: Any) -> tuple[Book, str]:
    """(book, the user's role in it): the book named in the URL, else their personal book.

    Raises NotFound when the user is not a member (or the id is not a number), so a
    stranger cannot tell a book that exists from one that does not. Read on every
    request, so a removed member is refused from the next one.
    """
    if book_id is None:
        column, value = "personal_owner", getattr(user, "pk", None)
    else:
        try:
            column, value = "id", int(book_id)
        except (TypeError, ValueError):
            raise NotFound(BOOK_NOT_FOUND) from None
        if not 0 < value < 2**63:
            raise NotFound(BOOK_NOT_FOUND)
    book = next(iter(Book.objects.raw(_member_book_sql(column), [user.pk, value])), None)
    if book is None:
        raise NotFound(BOOK_NOT_FOUND)
    return book, book.role  # type: ignore[attr-defined]


def _member_book_sql(column: str) -> str:
    """`Book.objects.for_member(user).filter(<column>=…).first()` as one fixed statement:
    every book-scoped request runs it, and the ORM took three times as long to build
    that query as the database took to answer it."""
    quote = connection.ops.quote_name
    book, membership = Book._meta, Membership._meta
    role, member_book, member = (
        quote(membership.get_field(name).column) for name in ("role", "book", "user")
    )
    pk = quote(book.pk.column)
    return (
        f"SELECT b.*, m.{role} AS role FROM {quote(book.db_table)} b "
        f"INNER JOIN {quote(membership.db_table)} m ON m.{member_book} = b.{pk} "
        f"WHERE m.{member} = %s AND b.{quote(book.get_field(column).column)} = %s "
        f"ORDER BY b.{pk} LIMIT 1"
    )


class BookScopedMixin:
    """Scopes an APIView or viewset to one book the caller belongs to (see module doc).

    - `scope_field`: the model field naming the book ("book"), or "user" for per-user
      records (notifications), which are scoped to the caller whatever the book.
    - `include_shared_rows`: also show rows held by no book (system categories), read-only.
    - `read_role` / `write_role`: the least role for safe / unsafe methods;
      `role_by_action` overrides per viewset action (e.g. `{"destroy": Role.OWNER}`).
    """

    scope_field: ClassVar[str] = "book"
    include_shared_rows: ClassVar[bool] = False
    read_role: ClassVar[str] = Role.VIEWER
    write_role: ClassVar[str] = Role.EDITOR
    role_by_action: ClassVar[dict[str, str]] = {}

    request: Request
    queryset: QuerySet
    kwargs: dict[str, Any]
    book: Book
    role: str

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("get_queryset", "get_object"):
            if name in cls.__dict__:
                raise ImproperlyConfigured(
                    f"{cls.__module__}.{cls.__qualname__} defines {name}(): book-scoped views "
                    "get their records only through books.scoping.BookScopedMixin; narrow "
                    "the queryset in safely_get_queryset(queryset) instead."
                )

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        self.book, self.role = resolve_book(request.user, kwargs.get(BOOK_URL_KWARG))
        # Serializers, filters and services reach the scope through the request.
        request.book = self.book  # type: ignore[attr-defined]
        request.book_role = self.role  # type: ignore[attr-defined]
        needed = self.role_by_action.get(getattr(self, "action", None) or "")
        if needed is None:
            needed = self.read_role if request.method in SAFE_METHODS else self.write_role
        if not role_allows(self.role, needed):
            raise PermissionDenied(
                ROLE_REFUSED.get(Role(needed), "Your role in this book does not allow this.")
            )

    def safely_get_queryset(self, queryset: QuerySet) -> QuerySet:
        """Narrow (select_related, annotate, filter further) — never widen."""
        return queryset

    def get_queryset(self) -> QuerySet:
        model = self.queryset.model
        if getattr(self, "swagger_fake_view", False) or not hasattr(self, "book"):
            return model.objects.none()
        return self.safely_get_queryset(self.scope_queryset(self.queryset.all()))

    def scope_queryset(self, queryset: QuerySet) -> QuerySet:
        if self.scope_field == "user":
            return queryset.filter(user=self.request.user)
        condition = Q(**{self.scope_field: self.book})
        if self.include_shared_rows:
            condition |= Q(**{f"{self.scope_field}__isnull": True})
        return queryset.filter(condition)

    def get_object(self) -> Any:
        return super().get_object()  # type: ignore[misc]  # uses get_queryset above

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.save(book=self.book, user=self.request.user)


def request_book(request: Any) -> Book | None:
    """The book a request was scoped to by `BookScopedMixin`, or None outside one."""
    return getattr(request, "book", None)


def book_queryset(
    request: Any, queryset: QuerySet, *, include_shared_rows: bool = False
) -> QuerySet:
    """`queryset` narrowed to the request's book — for filter choices and related ids."""
    book = request_book(request)
    if book is None:
        return queryset.none()
    condition = Q(book=book)
    if include_shared_rows:
        condition |= Q(book__isnull=True)
    return queryset.filter(condition)


class BookPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A related id in a request body, looked up only in the request's book (plus rows
    held by no book, such as system categories, when `include_shared_rows`): another
    book's id is "does not exist" (400), never a silent link."""

    def __init__(self, *args: Any, include_shared_rows: bool = False, **kwargs: Any) -> None:
        self.include_shared_rows = include_shared_rows
        super().__init__(*args, **kwargs)

    def get_queryset(self) -> QuerySet:
        return book_queryset(
            self.context.get("request"),
            super().get_queryset(),
            include_shared_rows=self.include_shared_rows,
        )
