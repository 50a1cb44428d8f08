"""A request body carries only the fields its request schema lists (core.serializers.
StrictFieldsMixin): a key that names no field, or a read-only one, is a 400 naming it and
nothing changes. Walked over every write operation of the OpenAPI schema, so a new
endpoint without a case here fails `test_every_write_operation_has_a_case`."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework import serializers
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from books.models import Invitation, Membership, Role
from books.services import book_create
from connections.models import Connection, ConnectionAccount
from connections.tests.fake_simplefin import FakeBridge
from core.serializers import READ_ONLY_FIELD, UNKNOWN_FIELD, StrictSerializer
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"
UNKNOWN = "bogus_field"
NEW_PASSWORD = "N3w-Horse-Battery-Staple"
CSV = b"date,description,amount\n2026-03-01,Coffee,-3.50\n2026-03-02,Salary,100.00\n"
# Documents, not serializers: the backup is validated as a whole by backups/document.py,
# which names unknown keys at every level itself (backups/tests).
SKIPPED = {("post", "/api/v1/import/backup/")}
# Not entities of the schema, so not in the schema's models either.
UNSNAPSHOTTED = {"contenttypes", "sessions", "admin"}


def _csv() -> SimpleUploadedFile:
    return SimpleUploadedFile("statement.csv", CSV, content_type="text/csv")


def _receipt() -> SimpleUploadedFile:
    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00"
        b"\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe"
        b"\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    return SimpleUploadedFile("receipt.png", png, content_type="image/png")


class World:
    """The records an operation needs, created through the API on first use."""

    def __init__(self, user: Any, client: APIClient) -> None:
        self.user = user
        self.client = client
        self._ids: dict[str, int] = {}

    def create(self, path: str, body: dict[str, Any], **kwargs: Any) -> int:
        response = self.client.post(f"{API}{path}", body, format=kwargs.get("format", "json"))
        assert response.status_code == 201, (path, response.content)
        return response.json()["id"]

    @cached_property
    def category(self) -> int:
        return self.create("/categories/", {"name": "Pets", "kind": "expense"})

    def id_of(self, resource: str) -> int:
        if resource not in self._ids:
            self._ids[resource] = self.creators[resource]()
        return self._ids[resource]

    @cached_property
    def creators(self) -> dict[str, Callable[[], int]]:
        return {
            "budgets": lambda: self.create(
                "/budgets/", {"month": "2026-03", "scope": "overall", "amount": "100.00"}
            ),
            "categories": lambda: self.category,
            "tags": lambda: self.create("/tags/", {"name": "travel"}),
            "rules": lambda: self.create("/rules/", self.rule),
            "expenses": lambda: self.create("/expenses/", self.record),
            "incomes": lambda: self.create("/incomes/", self.record),
            "goals": lambda: self.goal,
            "contributions": lambda: self.create(
                f"/goals/{self.goal}/contributions/", {"amount": "10.00"}
            ),
            "rates": lambda: self.create("/rates/", self.rate),
            "recurring": lambda: self.create("/recurring/", self.recurring),
            "imports": lambda: self.create("/imports/", {"file": _csv()}, format="multipart"),
            "profiles": lambda: self.create("/imports/profiles/", {"name": "Bank"}),
            "books": lambda: self.book,
            "webhooks": lambda: self.create("/webhooks/", self.webhook),
            "connections": lambda: self.connection.pk,
        }

    @property
    def webhook(self) -> dict[str, Any]:
        return {"url": "https://hooks.example.com/in", "events": ["expense.created"]}

    @cached_property
    def connection(self) -> Any:
        """A bank connection as a claim leaves it (claiming is proven in connections/)."""
        connection = Connection.objects.create(
            user=self.user, name="Bank", access_url="https://u:p@bridge.example/simplefin"
        )
        ConnectionAccount.objects.create(
            connection=connection, remote_id="ACT-1", name="Checking", currency="USD"
        )
        return connection

    @cached_property
    def bridge(self) -> FakeBridge:
        """A fake SimpleFIN bridge on 127.0.0.1 (stopped by the `world` fixture)."""
        fake = FakeBridge().start()
        fake.add_account("ACT-1", name="Checking", balance="10.00")
        return fake

    @cached_property
    def goal(self) -> int:
        return self.create("/goals/", {"name": "Car", "target_amount": "1000.00"})

    @cached_property
    def book(self) -> int:
        return self.create("/books/", {"name": "Household"})

    @cached_property
    def member(self) -> int:
        """A second member (editor) of `book`."""
        other = UserFactory()
        Membership.objects.create(book_id=self.book, user=other, role=Role.EDITOR)
        return other.pk

    def invitation_token(self) -> str:
        """A fresh one-time token inviting this user into someone else's book."""
        book = book_create(user=UserFactory(), name="Their flat")
        token = secrets.token_urlsafe(16)
        Invitation.objects.create(
            book=book,
            email=self.user.email,
            role=Role.VIEWER,
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            expires_at=timezone.now() + timedelta(days=1),
        )
        return token

    def url(self, path: str) -> str:
        path = path.replace("{book_id}", str(self.book)).replace("{user_id}", str(self.member))
        if "{account_id}" in path:
            path = path.replace("{account_id}", str(self.connection.accounts.get().pk))
        if "{goal_pk}" in path:
            path = path.replace("{goal_pk}", str(self.goal))
            return path.replace("{id}", str(self.id_of("contributions")))
        if "{id}" in path:
            resource = path.removeprefix(f"{API}/").split("/{id}")[0].split("/")[-1]
            return path.replace("{id}", str(self.id_of(resource)))
        return path

    @property
    def record(self) -> dict[str, Any]:
        return {"amount": "12.50", "date": "2026-03-01", "description": "Lunch"}

    @property
    def rule(self) -> dict[str, Any]:
        return {
            "name": "Vet",
            "field": "any",
            "operator": "contains",
            "value": "vet",
            "category": self.category,
        }

    @property
    def rate(self) -> dict[str, Any]:
        return {"base": "EUR", "quote": "USD", "date": "2026-03-01", "rate": "1.0876"}

    @property
    def recurring(self) -> dict[str, Any]:
        return {
            "kind": "expense",
            "amount": "900.00",
            "description": "Rent",
            "frequency": "monthly",
            "start_date": "2026-03-01",
        }

    def refresh_token(self) -> str:
        return str(RefreshToken.for_user(self.user))

    def reset_link(self) -> dict[str, str]:
        return {
            "uid": urlsafe_base64_encode(force_bytes(self.user.pk)),
            "token": default_token_generator.make_token(self.user),
        }


@dataclass(frozen=True)
class Case:
    """A valid body for one operation (`format` as the test client takes it)."""

    body: Callable[[World], dict[str, Any]]
    format: str = "json"
    anonymous: bool = False


CASES: dict[tuple[str, str, str], Case] = {
    # auth
    ("post", "/api/v1/auth/register/", "json"): Case(
        lambda w: {"username": "newbie", "email": "newbie@example.com", "password": NEW_PASSWORD},
        anonymous=True,
    ),
    ("post", "/api/v1/auth/token/", "json"): Case(
        lambda w: {"username": w.user.username, "password": DEFAULT_PASSWORD}, anonymous=True
    ),
    ("post", "/api/v1/auth/token/refresh/", "json"): Case(
        lambda w: {"refresh": w.refresh_token()}, anonymous=True
    ),
    ("post", "/api/v1/auth/token/verify/", "json"): Case(
        lambda w: {"token": w.refresh_token()}, anonymous=True
    ),
    ("post", "/api/v1/auth/logout/", "json"): Case(lambda w: {"refresh": w.refresh_token()}),
    ("patch", "/api/v1/auth/me/", "json"): Case(lambda w: {"first_name": "Ada"}),
    # DELETE bodies are left out of the schema by drf-spectacular; this one takes a password.
    ("delete", "/api/v1/auth/me/", "json"): Case(lambda w: {"password": DEFAULT_PASSWORD}),
    ("post", "/api/v1/auth/password/change/", "json"): Case(
        lambda w: {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    ),
    ("post", "/api/v1/auth/password/reset/", "json"): Case(
        lambda w: {"email": w.user.email}, anonymous=True
    ),
    ("post", "/api/v1/auth/password/reset/confirm/", "json"): Case(
        lambda w: {**w.reset_link(), "new_password": NEW_PASSWORD}, anonymous=True
    ),
    # budgets
    ("post", "/api/v1/budgets/", "json"): Case(
        lambda w: {"month": "2026-04", "scope": "overall", "amount": "100.00"}
    ),
    ("put", "/api/v1/budgets/{id}/", "json"): Case(
        lambda w: {"month": "2026-03", "scope": "overall", "amount": "200.00"}
    ),
    ("patch", "/api/v1/budgets/{id}/", "json"): Case(lambda w: {"amount": "150.00"}),
    ("post", "/api/v1/budgets/copy/", "json"): Case(
        lambda w: {"from_month": "2026-03", "to_month": "2026-04"}
    ),
    # categories, tags, rules
    ("post", "/api/v1/categories/", "json"): Case(lambda w: {"name": "Garden", "kind": "expense"}),
    ("put", "/api/v1/categories/{id}/", "json"): Case(
        lambda w: {"name": "Animals", "kind": "expense"}
    ),
    ("patch", "/api/v1/categories/{id}/", "json"): Case(lambda w: {"color": "#00AA00"}),
    ("post", "/api/v1/tags/", "json"): Case(lambda w: {"name": "work"}),
    ("put", "/api/v1/tags/{id}/", "json"): Case(lambda w: {"name": "trips"}),
    ("patch", "/api/v1/tags/{id}/", "json"): Case(lambda w: {"name": "journeys"}),
    ("post", "/api/v1/rules/", "json"): Case(lambda w: w.rule),
    ("put", "/api/v1/rules/{id}/", "json"): Case(lambda w: {**w.rule, "value": "clinic"}),
    ("patch", "/api/v1/rules/{id}/", "json"): Case(lambda w: {"priority": 5}),
    ("post", "/api/v1/rules/apply/", "json"): Case(lambda w: {"only_uncategorized": True}),
    # expenses and income, JSON and multipart (the receipt file is a field like the others)
    ("post", "/api/v1/expenses/recategorize/", "json"): Case(
        lambda w: {"ids": [w.id_of("expenses")], "category": w.category}
    ),
    ("post", "/api/v1/incomes/recategorize/", "json"): Case(
        lambda w: {"ids": [w.id_of("incomes")], "category": None}
    ),
    ("post", "/api/v1/expenses/", "json"): Case(lambda w: w.record),
    ("post", "/api/v1/expenses/", "multipart"): Case(
        lambda w: {**w.record, "receipt": _receipt()}, format="multipart"
    ),
    ("put", "/api/v1/expenses/{id}/", "json"): Case(lambda w: {**w.record, "amount": "13.00"}),
    ("patch", "/api/v1/expenses/{id}/", "json"): Case(lambda w: {"merchant": "Deli"}),
    ("patch", "/api/v1/expenses/{id}/", "multipart"): Case(
        lambda w: {"receipt": _receipt()}, format="multipart"
    ),
    ("post", "/api/v1/incomes/", "json"): Case(lambda w: w.record),
    ("put", "/api/v1/incomes/{id}/", "json"): Case(lambda w: {**w.record, "amount": "13.00"}),
    ("patch", "/api/v1/incomes/{id}/", "json"): Case(lambda w: {"source": "Employer"}),
    # goals
    ("post", "/api/v1/goals/", "json"): Case(lambda w: {"name": "Bike", "target_amount": "500.00"}),
    ("put", "/api/v1/goals/{id}/", "json"): Case(
        lambda w: {"name": "Van", "target_amount": "2000.00"}
    ),
    ("patch", "/api/v1/goals/{id}/", "json"): Case(lambda w: {"notes": "soon"}),
    ("post", "/api/v1/goals/{goal_pk}/contributions/", "json"): Case(lambda w: {"amount": "25.00"}),
    ("put", "/api/v1/goals/{goal_pk}/contributions/{id}/", "json"): Case(
        lambda w: {"amount": "30.00", "date": "2026-03-02"}
    ),
    ("patch", "/api/v1/goals/{goal_pk}/contributions/{id}/", "json"): Case(
        lambda w: {"note": "bonus"}
    ),
    # imports
    ("post", "/api/v1/imports/", "multipart"): Case(
        lambda w: {"file": _csv(), "format": "csv"}, format="multipart"
    ),
    ("post", "/api/v1/imports/{id}/commit/", "json"): Case(lambda w: {"skip_errors": True}),
    ("post", "/api/v1/imports/profiles/", "json"): Case(
        lambda w: {"name": "Other bank", "options": {"delimiter": ";"}}
    ),
    ("post", "/api/v1/imports/profiles/", "multipart"): Case(
        lambda w: {"name": "Sampled", "sample": _csv()}, format="multipart"
    ),
    ("put", "/api/v1/imports/profiles/{id}/", "json"): Case(
        lambda w: {"name": "Bank 2", "options": {}}
    ),
    ("patch", "/api/v1/imports/profiles/{id}/", "json"): Case(lambda w: {"name": "Bank 3"}),
    # notifications (a kind is a field; its flags are the fields of a nested object)
    ("patch", "/api/v1/notifications/preferences/", "json"): Case(
        lambda w: {"budget_warn": {"email": False}}
    ),
    # rates (Admin)
    ("post", "/api/v1/rates/", "json"): Case(lambda w: {**w.rate, "date": "2026-03-02"}),
    ("put", "/api/v1/rates/{id}/", "json"): Case(lambda w: {**w.rate, "rate": "1.09"}),
    ("patch", "/api/v1/rates/{id}/", "json"): Case(lambda w: {"rate": "1.1"}),
    # recurring
    ("post", "/api/v1/recurring/", "json"): Case(lambda w: w.recurring),
    ("put", "/api/v1/recurring/{id}/", "json"): Case(lambda w: {**w.recurring, "amount": "950.00"}),
    ("patch", "/api/v1/recurring/{id}/", "json"): Case(lambda w: {"active": False}),
    # books, members, invitations (SPEC §14)
    ("post", "/api/v1/books/", "json"): Case(lambda w: {"name": "Flat", "base_currency": "EUR"}),
    ("put", "/api/v1/books/{id}/", "json"): Case(lambda w: {"name": "Flat 3B"}),
    ("patch", "/api/v1/books/{id}/", "json"): Case(lambda w: {"month_start_day": 5}),
    ("put", "/api/v1/books/{book_id}/members/{user_id}/", "json"): Case(
        lambda w: {"role": "viewer"}
    ),
    ("patch", "/api/v1/books/{book_id}/members/{user_id}/", "json"): Case(
        lambda w: {"role": "owner"}
    ),
    ("post", "/api/v1/books/{book_id}/invitations/", "json"): Case(
        lambda w: {"email": "kim@example.com", "role": "editor"}
    ),
    ("post", "/api/v1/invitations/accept/", "json"): Case(
        lambda w: {"token": w.invitation_token()}
    ),
    # splits (SPEC §15): only a shared book has settlements
    ("post", "/api/v1/books/{book_id}/settlements/", "json"): Case(
        lambda w: {"from": w.member, "to": w.user.pk, "amount": "5.00", "date": "2026-03-01"}
    ),
    # connections and webhooks (SPEC §17)
    ("post", "/api/v1/connections/", "json"): Case(
        lambda w: {"kind": "simplefin", "setup_token": w.bridge.setup_token()}
    ),
    ("patch", "/api/v1/connections/{id}/", "json"): Case(lambda w: {"name": "Main bank"}),
    ("patch", "/api/v1/connections/{id}/accounts/{account_id}/", "json"): Case(
        lambda w: {"book": w.user.personal_book.pk}
    ),
    ("post", "/api/v1/webhooks/", "json"): Case(lambda w: w.webhook),
    ("put", "/api/v1/webhooks/{id}/", "json"): Case(
        lambda w: {**w.webhook, "events": ["income.created"]}
    ),
    ("patch", "/api/v1/webhooks/{id}/", "json"): Case(lambda w: {"description": "Dashboard"}),
    # insights (SPEC §16): a question, nothing written
    ("post", "/api/v1/ai/categorize/", "json"): Case(
        lambda w: {"description": "Coffee", "kind": "expense"}
    ),
}
# Record routes are served again under /books/{book_id}/ by the same views and serializers
# (SPEC §14): a top-level case covers its twin there.
BOOK_PREFIX = "/api/v1/books/{book_id}"


def _top_level(path: str) -> str:
    twin = "/api/v1" + path.removeprefix(BOOK_PREFIX)
    return twin if path.startswith(BOOK_PREFIX) and twin != path else path


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict[str, Any]:
    with django_db_blocker.unblock():
        client = APIClient()
        response = client.get(f"{API}/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def world(db, settings, public_dns) -> Iterator[World]:
    # An Admin, for the admin-only writes (rates); nothing else here depends on it.
    user = UserFactory(is_superuser=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    # Webhook URLs must resolve to a public address (no DNS here); the fake SimpleFIN
    # bridge listens on 127.0.0.1.
    settings.SIMPLEFIN_ALLOW_PRIVATE = True
    world = World(user, client)
    yield world
    if "bridge" in world.__dict__:
        world.bridge.stop()


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = {**schema["components"]["schemas"][name], "x-component": name}
    return node


def _name(component: dict[str, Any]) -> str:
    return component.get("x-component", "")


def _snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table the API can write, to show that nothing changed."""
    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for model in apps.get_models()
        if model._meta.app_label not in UNSNAPSHOTTED
    }


def _send(world: World, method: str, path: str, case: Case, body: dict[str, Any]) -> Any:
    client = APIClient() if case.anonymous else world.client
    return getattr(client, method)(world.url(path), body, format=case.format)


def test_every_write_operation_has_a_case(schema):
    """The walk below covers every documented body: a new endpoint needs a case."""
    documented = {
        (method, path)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    }
    covered = {(method, path) for method, path, _ in CASES}
    documented = {
        (method, path if (method, path) in covered else _top_level(path))
        for method, path in documented
    }
    assert documented - SKIPPED - covered == set()
    # and every multipart-only body is sent as multipart
    for (method, path), content in (
        ((m, p), o["requestBody"]["content"])
        for p, ops in schema["paths"].items()
        for m, o in ops.items()
        if "requestBody" in o and (m, _top_level(p)) not in SKIPPED and (m, p) in covered
    ):
        formats = {fmt for m, p, fmt in CASES if (m, p) == (method, path)}
        assert ("json" in formats) == ("application/json" in content), (method, path)


@pytest.mark.parametrize(("method", "path", "fmt"), list(CASES), ids=lambda v: str(v))
def test_an_unknown_field_is_a_400_naming_it_and_changes_nothing(world, method, path, fmt):
    case = CASES[(method, path, fmt)]
    world.url(path)  # the records the path names exist before the snapshot
    body = case.body(world)
    before, mails = _snapshot(), len(mail.outbox)

    refused = _send(world, method, path, case, {**body, UNKNOWN: "x"})

    assert refused.status_code == 400, refused.content
    errors = refused.json()
    assert list(errors) == [UNKNOWN], errors  # the rest of the body was valid
    assert errors[UNKNOWN][0].startswith("Unknown"), errors
    assert _snapshot() == before
    assert len(mail.outbox) == mails
    # The same body without the stray key is accepted: it was the only problem.
    body = case.body(world)
    accepted = _send(world, method, path, case, body)
    assert 200 <= accepted.status_code < 300, accepted.content


@pytest.mark.parametrize(
    ("method", "path"),
    [(method, path) for method, path, fmt in CASES if fmt == "json" and method != "delete"],
    ids=lambda v: str(v),
)
def test_what_a_response_has_beyond_the_request_schema_is_refused(schema, world, method, path):
    """Sending back what the API answered (read-only `id`, timestamps, computed figures)
    is a 400 naming each such field: read-only fields are refused, never ignored."""
    operation = schema["paths"][path][method]
    request = _resolve(schema, operation["requestBody"]["content"]["application/json"]["schema"])
    ok = next(
        (
            r
            for code, r in operation["responses"].items()
            if code.startswith("2") and "content" in r
        ),
        None,
    )
    if ok is None:
        pytest.skip("answers without a body")
    response = _resolve(schema, ok["content"]["application/json"]["schema"])
    assert request.get("additionalProperties") is False, request
    extra = {
        name: prop
        for name, prop in response.get("properties", {}).items()
        if name not in request["properties"]
    }
    if not extra:
        pytest.skip("the response has no field the request does not take")
    case = CASES[(method, path, "json")]
    world.url(path)
    body = case.body(world)
    before = _snapshot()

    refused = _send(world, method, path, case, {**body, **dict.fromkeys(extra, "x")})

    assert refused.status_code == 400, refused.content
    errors = refused.json()
    assert set(errors) == set(extra), errors
    # Where the answer is the request's own serializer, its read-only fields say so.
    same_serializer = _name(request).removeprefix("Patched") == _name(response) + "Request"
    expected = {
        name: [READ_ONLY_FIELD]
        if same_serializer and _resolve(schema, prop).get("readOnly")
        else errors[name]
        for name, prop in extra.items()
    }
    assert all(messages[0] in (READ_ONLY_FIELD, UNKNOWN_FIELD) for messages in errors.values())
    assert refused.json() == expected
    assert _snapshot() == before


def test_a_get_put_round_trip_names_exactly_the_read_only_fields(world):
    url = world.url(f"{API}/expenses/{{id}}/")
    representation = world.client.get(url).json()
    response = world.client.put(url, representation, format="json")
    assert response.status_code == 400
    assert response.json() == {
        name: [READ_ONLY_FIELD]
        for name in (
            "id",
            "base_amount",
            "exchange_rate",
            "category_name",
            "suggested_category",
            "suggested_category_name",
            "suggested_confidence",
            "created_at",
            "updated_at",
        )
    }


def test_nested_objects_name_their_unknown_keys_where_they_are(world):
    before = _snapshot()
    response = world.client.patch(
        f"{API}/notifications/preferences/",
        {"budget_warn": {"email": False, "sms": True}, "bill_due": {"in_app": True}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"budget_warn": {"sms": ["Unknown setting; use in_app or email."]}}
    assert _snapshot() == before


class Line(StrictSerializer):
    amount = serializers.IntegerField()
    id = serializers.IntegerField(read_only=True)


class Batch(StrictSerializer):
    name = serializers.CharField()
    lines = Line(many=True)
    extra_lines = serializers.ListField(child=Line(), required=False)
    head = Line(required=False)


def test_lists_of_objects_name_the_item_and_key():
    batch = Batch(
        data={
            "name": "b",
            "lines": [{"amount": 1}, {"amount": 2, "colour": "red"}],
            "extra_lines": [{"amount": 3, "id": 9}],
            "head": {"amount": "x", "size": 1},
        }
    )
    assert not batch.is_valid()
    assert batch.errors == {
        "lines": {1: {"colour": [UNKNOWN_FIELD]}},
        "extra_lines": {0: {"id": [READ_ONLY_FIELD]}},
        # reported with the other problems of the same object
        "head": {"amount": ["A valid integer is required."], "size": [UNKNOWN_FIELD]},
    }


def test_free_form_options_and_columns_refuse_unknown_names(world):
    """`options` and `columns` are JSON values, not serializers: they check their own keys."""
    before = _snapshot()
    profile = world.client.post(
        f"{API}/imports/profiles/",
        {"name": "Bank", "options": {"delimiter": ";", "colour": "red"}},
        format="json",
    )
    assert profile.status_code == 400
    assert list(profile.json()) == ["options"]
    assert "Unknown options: colour." in profile.json()["options"][0]
    upload = world.client.post(
        f"{API}/imports/",
        {"file": _csv(), "columns": '{"date": 0, "colour": 1}'},
        format="multipart",
    )
    assert upload.status_code == 400
    assert upload.json() == {"columns": ["Unknown roles: colour."]}
    assert _snapshot() == before
