"""What the two route-discovering matrices share (tests/test_isolation_matrix.py, user
against user; tests/test_books_matrix.py, roles inside a book): the routes as the URL
resolver knows them, how to send a request and read any body, which serializer fields
and list filters take a record's id, and one of every kind of record held by a book."""

from __future__ import annotations

import contextlib
import copy
import inspect
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.db import models, transaction
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django_filters import rest_framework as filters
from rest_framework import serializers

from books.models import Book, Membership
from budgets.models import Budget
from categories.models import Category, RuleApplication
from categories.tests.factories import CategoryFactory, RuleFactory, TagFactory
from connections.models import Connection, ConnectionAccount
from expenses.models import Expense
from expenses.tests.factories import ExpenseFactory
from goals.models import Contribution
from goals.tests.factories import ContributionFactory, GoalFactory
from imports.parsers.base import CsvOptions
from imports.profiles import profile_create
from imports.services import import_preview
from income.tests.factories import IncomeFactory
from notifications.tests.factories import NotificationFactory
from recurring.tests.factories import RecurringItemFactory
from splits.models import Settlement
from webhooks.models import Webhook, WebhookDelivery

# The same views serve a book's routes under this prefix (budget_tracker/api_urls.py).
BOOK_ROUTES_PREFIX = "api/v1/books/<int:book_id>/"
# The methods the matrices send (HEAD answers as GET does; OPTIONS shows no records).
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


# --- route discovery -------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str | None
    pattern: str
    callback: Any

    @property
    def formatted(self) -> bool:
        return "(?P<format>" in self.pattern

    @property
    def in_book(self) -> bool:
        """Served under `/books/{book_id}/` (the book is named in the path)."""
        return self.pattern.startswith(BOOK_ROUTES_PREFIX)

    @property
    def view_class(self) -> Any:
        return getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)

    @property
    def actions(self) -> dict[str, str] | None:
        return getattr(self.callback, "actions", None)

    @property
    def methods(self) -> list[str]:
        if self.actions:
            return sorted(m for m in self.actions if m in HTTP_METHODS)
        view = self.view_class
        return [m for m in HTTP_METHODS if hasattr(view, m) and m in view.http_method_names]

    def __str__(self) -> str:
        return f"{self.name} {self.pattern}"


def _walk(resolver: URLResolver, prefix: str = "") -> Iterator[Route]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield Route(entry.name, prefix + str(entry.pattern), entry.callback)


def discover_routes() -> list[Route]:
    return list(_walk(get_resolver()))


# --- requests and bodies ---------------------------------------------------------------------


def body_text(response: Any) -> str:
    """Everything a client could read in the body, as text (XLSX cells, PDF text too)."""
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    content_type = response.get("Content-Type", "")
    if "spreadsheetml" in content_type:
        import openpyxl

        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True)
        cells = [
            str(value)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
            if value is not None
        ]
        return "\n".join([*book.sheetnames, *cells])
    if "pdf" in content_type:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError

        try:
            pages = PdfReader(io.BytesIO(raw)).pages
            return "\n".join(page.extract_text() or "" for page in pages)
        except PdfReadError:  # a stored receipt, say, that is not a whole PDF
            pass
    return raw.decode("utf-8", errors="replace")


def send(client: Any, method: str, url: str, data: Any = None) -> Any:
    """One request; a dict holding bytes or files goes as multipart, anything else as JSON."""
    if method in ("get", "delete"):
        return getattr(client, method)(url, data)
    if isinstance(data, dict) and any(isinstance(v, bytes | ContentFile) for v in data.values()):
        files = {
            k: ContentFile(v, name="backup.json") if isinstance(v, bytes) else v
            for k, v in data.items()
        }
        return getattr(client, method)(url, files, format="multipart")
    return getattr(client, method)(url, data if data is not None else {}, format="json")


# --- ids in bodies and filters ---------------------------------------------------------------


def _is_owned_relation(model: type[models.Model], name: str) -> bool:
    try:
        model_field = model._meta.get_field(name)
    except Exception:
        return False
    related = getattr(model_field, "related_model", None)
    return related is not None and (
        any(f.name in ("user", "book") for f in related._meta.get_fields()) or related is Category
    )


def writable_foreign_keys(routes: list[Route]) -> set[tuple[str, str]]:
    """(route, field) for every writable related field of a routed serializer."""
    found = set()
    for route in routes:
        serializer_class = getattr(route.view_class, "serializer_class", None)
        if serializer_class is None or not issubclass(serializer_class, serializers.Serializer):
            continue
        writes = {"create", "update", "partial_update"}
        if route.actions is not None and not writes & set(route.actions.values()):
            continue  # @actions bring their own input serializers, listed by hand
        if route.actions is None and not {"post", "put", "patch"} & set(route.methods):
            continue
        for name, serializer_field in serializer_class().fields.items():
            if serializer_field.read_only:
                continue
            child = getattr(serializer_field, "child_relation", serializer_field)
            if isinstance(child, serializers.RelatedField):
                found.add((route.name, name))
    return found


def id_filters(routes: list[Route]) -> set[tuple[str, str]]:
    """(route, param) for every list filter on an owned relation (or a model choice)."""
    found = set()
    for route in routes:
        filterset_class = getattr(route.view_class, "filterset_class", None)
        if filterset_class is None or "get" not in route.methods:
            continue
        if route.actions is not None and "list" not in route.actions.values():
            continue  # retrieve and @actions do not run the list filters
        model = filterset_class._meta.model
        for name, declared in filterset_class.base_filters.items():
            if declared.lookup_expr == "isnull":
                continue  # a yes/no question about the relation, not an id
            target = (declared.field_name or name).split("__")[0]
            if target.endswith("_id"):
                target = target[:-3]
            if isinstance(
                declared, filters.ModelChoiceFilter | filters.ModelMultipleChoiceFilter
            ) or _is_owned_relation(model, target):
                found.add((route.name, name))
    return found


# --- one of every record in a book -----------------------------------------------------------


def _call(service: Callable[..., Any], **kwargs: Any) -> Any:
    """Call a service with those of `kwargs` it takes (`user`, `book` or both), so the
    world is built the same while the apps move their services from users to books."""
    accepted = inspect.signature(service).parameters
    return service(**{k: v for k, v in kwargs.items() if k in accepted})


def _into(book: Book, record: Any) -> Any:
    if record.book_id != book.pk:
        type(record).objects.filter(pk=record.pk).update(book=book)
        record.refresh_from_db()
    return record


def build_records(*, book: Book, user: Any, marker: str) -> dict[str, Any]:
    """One of every kind of record in `book`, created by `user`, each naming `marker`
    (plus `user`'s own notification: notifications stay per user)."""
    today = timezone.localdate()
    held = {"user": user, "book": book}
    category = CategoryFactory(**held, name=f"{marker}-cat", kind="expense")
    income_category = CategoryFactory(**held, name=f"{marker}-inc-cat", kind="income")
    tag = TagFactory(**held, name=f"{marker}-tag")
    rule = RuleFactory(**held, name=f"{marker}-rule", category=category, value=marker)
    rule_application = RuleApplication.objects.create(**held)
    batch = _call(
        import_preview,
        **held,
        content=f"Date,Description,Amount\n{today.isoformat()},{marker}-imported,-3.00\n".encode(),
        fmt="csv",
        filename=f"{marker}-statement.csv",
        options=CsvOptions(),
        default_currency="USD",
    )
    import_profile = _call(
        profile_create,
        **held,
        name=f"{marker}-profile",
        options={"columns": {"date": f"{marker}-date"}},
        header=[f"{marker}-date", "text", "amount"],
    )
    expense = ExpenseFactory(
        **held,
        amount=Decimal("42.00"),
        date=today,
        description=f"{marker}-expense",
        merchant=f"{marker}-merchant",
        category=category,
        receipt=ContentFile(b"%PDF-1.4 receipt", name="receipt.pdf"),
    )
    expense.tags.add(tag)
    uncategorized = ExpenseFactory(
        **held, date=today, description=f"{marker} uncategorized", merchant=marker
    )
    income = IncomeFactory(
        **held,
        amount=Decimal("500.00"),
        date=today,
        description=f"{marker}-income",
        category=income_category,
        receipt=ContentFile(b"%PDF-1.4 receipt", name="receipt.pdf"),
    )
    budget = Budget.objects.create(
        **held,
        month=today.replace(day=1),
        scope="category",
        category=category,
        amount=Decimal("50.00"),
    )
    goal = GoalFactory(**held, name=f"{marker}-goal")
    contribution = ContributionFactory(goal=goal, note=f"{marker}-contribution", date=today)
    notification = NotificationFactory(user=user, title=f"{marker}-notification")
    recurring = RecurringItemFactory(
        **held, description=f"{marker}-recurring", category=category, start_date=today
    )
    # In a shared book with another member, a payment between two members and its
    # repayment (SPEC §15): every balance stays 0, so members may still leave.
    other = (
        Membership.objects.filter(book=book).exclude(user=user).order_by("id").first()
        if not book.is_personal
        else None
    )
    settlement = None
    if other is not None:
        settlement, _ = (
            Settlement.objects.create(
                **held,
                from_user=payer,
                to_user=payee,
                amount=Decimal("7.00"),
                currency=book.base_currency,
                base_amount=Decimal("7.00"),
                date=today,
                note=f"{marker}-settlement",
            )
            for payer, payee in ((other.user, user), (user, other.user))
        )
    webhook = Webhook.objects.create(
        **held,
        url=f"https://hooks.example.com/{marker}",
        events=["expense.created"],
        description=f"{marker}-webhook",
        secret=f"whsec_{marker}",
    )
    delivery = WebhookDelivery.objects.create(
        webhook=webhook,
        event="expense.created",
        body=f'{{"event": "expense.created", "data": {{"description": "{marker}-expense"}}}}',
        status="succeeded",
    )
    # Bank connections belong to a user (not a book): one in their personal book's world.
    connected: dict[str, Any] = {}
    if book.is_personal:
        connection = Connection.objects.create(
            user=user, name=f"{marker}-bank", access_url=f"https://u:p@bridge.example/{marker}"
        )
        account = ConnectionAccount.objects.create(
            connection=connection,
            remote_id=f"{marker}-account",
            name=f"{marker}-checking",
            currency="USD",
            book=book,
        )
        connected = {"connection": connection, "connection_account": account}
    return {
        **connected,
        "webhook": webhook,
        "webhook_delivery": delivery,
        "category": category,
        "income_category": income_category,
        "tag": tag,
        "rule": rule,
        "rule_application": rule_application,
        "import": _into(book, batch),
        "import_profile": _into(book, import_profile),
        "expense": expense,
        "uncategorized": uncategorized,
        "income": income,
        "budget": budget,
        "goal": goal,
        "contribution": contribution,
        "notification": notification,
        "recurring": recurring,
        **({"settlement": settlement} if settlement is not None else {}),
    }


def _rows(queryset: models.QuerySet) -> list[dict[str, Any]]:
    rows = list(queryset.order_by("pk").values())
    for row in rows:
        row.pop("updated_at", None)
    return rows


def book_state(book: Book) -> dict[str, Any]:
    """Everything `book` holds as stored — its settings, members, invitations and every
    record of every model with a `book` key — to prove a request changed nothing."""
    state: dict[str, Any] = {"book": _rows(Book.objects.filter(pk=book.pk))}
    for model in apps.get_models():
        field = next(
            (
                f
                for f in model._meta.concrete_fields
                if f.name == "book" and f.many_to_one and f.related_model is Book
            ),
            None,
        )
        if field is not None:
            state[model._meta.label] = _rows(model._base_manager.filter(book=book))
    state["contributions"] = _rows(Contribution.objects.filter(goal__book=book))
    state["expense_tags"] = _rows(Expense.tags.through.objects.filter(expense__book=book))
    return state


@contextlib.contextmanager
def built_once(django_db_blocker: Any, media_root: Any) -> Iterator[None]:
    """For a module-scoped fixture: rows written inside stay for every test of the module
    and are rolled back after its last one.

    Each test's own `db` transaction is a savepoint inside this one, so what a test
    writes is undone before the next, which sees the rows as they were built; hand each
    test `copy.deepcopy` of the built objects (`fresh`), as Django's `setUpTestData`
    does, so no test sees another's changes to them in memory. Building the matrices'
    worlds once per module instead of once per test (hundreds of times) is most of their
    run time. Webhook hosts resolve (`use_public_dns`), files go to `media_root`, and
    passwords hash fast while building."""
    from conftest import use_public_dns

    with (
        django_db_blocker.unblock(),
        override_settings(
            MEDIA_ROOT=str(media_root),
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        ),
        pytest.MonkeyPatch.context() as monkeypatch,
        transaction.atomic(),
    ):
        use_public_dns(monkeypatch)
        try:
            yield
        finally:
            transaction.set_rollback(True)


def fresh(built: Any) -> Any:
    """A test's own copy of what `built_once` made (model instances included)."""
    return copy.deepcopy(built)
