"""The OpenAPI docs help a newcomer: every operation says what it does, every request
example works as given, and the Swagger UI and ReDoc pages load nothing from another host."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import secrets
from datetime import date, timedelta
from html.parser import HTMLParser
from importlib import import_module
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from books.models import Book, Invitation, Membership, Role
from books.services import book_create
from budgets.services import budget_upsert
from categories.models import Category
from categories.tests.factories import CategoryFactory, RuleFactory, TagFactory
from connections.models import Connection, ConnectionAccount
from connections.tests.fake_simplefin import FakeBridge
from currencies.tests.factories import ExchangeRateFactory
from expenses.tests.factories import ExpenseFactory
from goals.tests.factories import ContributionFactory, GoalFactory
from imports.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD, DEMO_USERNAME
from imports.profiles import profile_create
from income.tests.factories import IncomeFactory
from recurring.tests.factories import RecurringItemFactory
from users.roles import ADMIN
from users.services import issue_tokens, user_register
from users.tests.factories import UserFactory
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")
STATEMENT_CSV = (
    b"Date,Description,Amount\n2026-03-02,Corner Market,-42.80\n2026-03-25,Salary,3200.00\n"
)

# Generated once at collection (no rows are read), as tests/test_contract.py does.
SCHEMA: dict[str, Any] = SchemaGenerator().get_schema(request=None, public=True)


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in SCHEMA["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _request_examples() -> list[Any]:
    cases = []
    for method, path, operation in _operations():
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
            for name, example in content.get("examples", {}).items():
                cases.append(
                    pytest.param(
                        method,
                        path,
                        media_type,
                        example["value"],
                        id=f"{method} {path} {media_type} {name}",
                    )
                )
    return cases


def _schema_of(reference: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in reference:
        reference = SCHEMA["components"]["schemas"][reference["$ref"].rsplit("/", 1)[-1]]
    return reference


# --- summaries and descriptions ------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path, operation",
    [pytest.param(*op, id=f"{op[0]} {op[1]}") for op in _operations()],
)
def test_every_operation_has_a_summary_and_a_description(method, path, operation):
    summary = (operation.get("summary") or "").strip()
    description = (operation.get("description") or "").strip()
    assert summary, f"{method} {path} has no summary"
    assert description, f"{method} {path} has no description"
    assert description != summary
    # A summary says what the operation does, not where it lives.
    assert "/api/" not in summary and "{" not in summary, summary


def test_every_write_operation_has_a_request_example():
    missing = [
        f"{method} {path}"
        for method, path, operation in _operations()
        if "requestBody" in operation
        and not any(c.get("examples") for c in operation["requestBody"]["content"].values())
    ]
    assert missing == []


def test_json_examples_send_no_file_fields_as_strings():
    # Swagger's own example body for POST /expenses/ was `"receipt": "string"`.
    for method, path, operation in _operations():
        content = operation.get("requestBody", {}).get("content", {})
        json_body = content.get("application/json")
        if not json_body:
            continue
        properties = _schema_of(json_body["schema"]).get("properties", {})
        # A file field shows as binary, or as a URI when its stored file is named (a
        # receipt); a webhook's `url` is a URI that is no file.
        files = {
            name
            for name, field in properties.items()
            if field.get("format") == "binary" or (field.get("format") == "uri" and name != "url")
        }
        for example in json_body.get("examples", {}).values():
            assert not files & set(example["value"]), f"{method} {path}: {files}"


def test_example_category_ids_are_the_seeded_system_categories():
    # Examples refer to system categories by the id a fresh database gives them (the data
    # migration seeds expense kinds first, in order), so they work as given on `make run`.
    seeded = import_module("categories.migrations.0002_system_categories").SYSTEM_CATEGORIES
    in_order = [(kind, name) for kind, names in seeded.items() for name in names]
    for pk, (kind, name) in EXAMPLE_CATEGORIES.items():
        assert in_order[pk - 1] == (kind, name)


# --- request examples replayed -------------------------------------------------------------

# Category ids used by the examples → the system category each one is on a fresh database.
EXAMPLE_CATEGORIES = {
    1: ("expense", "Food"),
    2: ("expense", "Groceries"),
    3: ("expense", "Rent"),
    12: ("income", "Salary"),
}


@pytest.fixture
def world():
    """The demo user of `seed_demo` owning one of everything a path or example names."""
    user = user_register(username=DEMO_USERNAME, email=DEMO_EMAIL, password=DEMO_PASSWORD)
    goal = GoalFactory(user=user)
    objects = {
        "categories": CategoryFactory(user=user),
        "tags": TagFactory(user=user),
        "rules": RuleFactory(user=user),
        "expenses": ExpenseFactory(user=user),
        "incomes": IncomeFactory(user=user),
        "budgets": budget_upsert(
            book=user.personal_book,
            user=user,
            data={"month": date(2026, 3, 1), "scope": "overall", "amount": 900},
        )[0],
        "goals": goal,
        "contributions": ContributionFactory(goal=goal, amount=1000),
        "recurring": RecurringItemFactory(user=user),
        "profiles": profile_create(user=user, name="Old layout", options={}, header=None),
        # A fresh install has the bundled ECB rates; the test database starts without them.
        "rates": ExchangeRateFactory(base="EUR", quote="USD", date=date(2026, 1, 2)),
        # A shared book of the user's with a second member, for the member and invitation
        # routes; the other routes under /books/{book_id}/ use the personal book, which
        # holds the records above.
        "books": book_create(user=user, name="Household"),
    }
    objects["webhooks"] = Webhook.objects.create(
        book=user.personal_book,
        user=user,
        url="https://hooks.example.com/budget-tracker",
        events=["expense.created"],
        secret="whsec_example",
    )
    objects["connections"] = Connection.objects.create(
        user=user, name="My bank", access_url="https://u:p@bridge.example/simplefin"
    )
    objects["accounts"] = ConnectionAccount.objects.create(
        connection=objects["connections"], remote_id="ACT-1", name="Checking", currency="USD"
    )
    objects["members"] = UserFactory()
    Membership.objects.create(book=objects["books"], user=objects["members"], role=Role.VIEWER)
    return user, objects


def _client(user: Any, path: str, operation: dict[str, Any]) -> APIClient:
    client = APIClient()
    if any(operation.get("security", [])):
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user=user)['access']}")
    return client


def _path_for(path: str, user: Any, objects: dict[str, Any]) -> str:
    if path.startswith(BOOK_PREFIX):
        if "/members/" in path or "/invitations/" in path or "/settlements/" in path:
            return path.replace("{book_id}", str(objects["books"].pk)).replace(
                "{user_id}", str(objects["members"].pk)
            )
        # A record route of a book: the records above are in the personal book.
        personal = Book.objects.get(personal_owner=user)
        inner = _path_for("/api/v1" + path.removeprefix(BOOK_PREFIX), user, objects)
        return f"/api/v1/books/{personal.pk}" + inner.removeprefix("/api/v1")
    resource = path.removeprefix("/api/v1/").split("/")[0]
    if path.startswith("/api/v1/imports/profiles/"):
        resource = "profiles"
    if path.startswith("/api/v1/imports/{id}/"):
        objects["imports"] = _uploaded_batch(user)
        resource = "imports"
    if "/contributions/{id}/" in path:
        path = path.replace("{id}", str(objects["contributions"].pk))
    path = path.replace("{goal_pk}", str(objects["goals"].pk))
    path = path.replace("{account_id}", str(objects["accounts"].pk))
    return path.replace("{id}", str(objects[resource].pk)) if "{id}" in path else path


BOOK_PREFIX = "/api/v1/books/{book_id}"


def _uploaded_batch(user: Any) -> Any:
    from imports.models import ImportBatch

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user=user)['access']}")
    response = client.post(
        "/api/v1/imports/",
        {"file": SimpleUploadedFile("statement.csv", STATEMENT_CSV, "text/csv")},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return ImportBatch.objects.get(pk=response.json()["id"])


def _resolve(value: dict[str, Any], user: Any) -> dict[str, Any]:
    """The example with its references made real: category ids to the system categories
    they name on a fresh database, token placeholders to the user's tokens."""
    body = copy.deepcopy(value)
    for field in ("category", "parent"):
        if isinstance(body.get(field), int):
            kind, name = EXAMPLE_CATEGORIES[body[field]]
            body[field] = Category.objects.get(user=None, kind=kind, name=name).pk
    placeholders = {
        "refresh": lambda: issue_tokens(user=user)["refresh"],
        "token": lambda: (
            default_token_generator.make_token(user)
            if "uid" in body
            else issue_tokens(user=user)["access"]
        ),
        "uid": lambda: urlsafe_base64_encode(force_bytes(user.pk)),
    }
    for field, make in placeholders.items():
        if isinstance(body.get(field), str) and body[field].startswith("<"):
            body[field] = make()
    return body


@pytest.fixture
def bridge(settings):
    """A fake SimpleFIN bridge on 127.0.0.1 for the connection example's setup token."""
    settings.SIMPLEFIN_ALLOW_PRIVATE = True
    fake = FakeBridge().start()
    fake.add_account("ACT-1", name="Checking", balance="100.00")
    yield fake
    fake.stop()


@pytest.mark.parametrize("method, path, media_type, value", _request_examples())
def test_request_example_works_as_given(world, method, path, media_type, value, request):
    user, objects = world
    if "/webhooks/" in path:
        request.getfixturevalue("public_dns")
    operation = SCHEMA["paths"][path][method.lower()]
    if path.startswith("/api/v1/rates/"):
        user.groups.add(Group.objects.get(name=ADMIN))  # exchange rates are Admin-written
    client = _client(user, path, operation)
    url = _path_for(path, user, objects)
    body = _resolve(value, user)
    if path == "/api/v1/connections/" and method == "POST":
        body["setup_token"] = request.getfixturevalue("bridge").setup_token()
    if path == "/api/v1/invitations/accept/":
        body["token"] = _invitation_token(user)
    if path.endswith("/recategorize/"):  # the world's record of that kind
        body["ids"] = [objects[path.split("/")[-3]].pk]
    if path.endswith("/settlements/"):  # a payment between the shared book's two members
        body.update({"from": objects["members"].pk, "to": user.pk})
    if media_type == "multipart/form-data":
        properties = _schema_of(operation["requestBody"]["content"][media_type]["schema"])
        for name, field in properties.get("properties", {}).items():
            if field.get("format") == "binary" and name in properties.get("required", []):
                body[name] = SimpleUploadedFile("statement.csv", STATEMENT_CSV, "text/csv")
        response = client.generic(method, url, **_multipart(client, body))
    else:
        response = client.generic(method, url, json.dumps(body), content_type="application/json")
    assert 200 <= response.status_code < 300, (response.status_code, response.content[:2000])


def _invitation_token(user: Any) -> str:
    """A real one-time token inviting `user` into another account's shared book."""
    token = secrets.token_urlsafe(16)
    Invitation.objects.create(
        book=book_create(user=UserFactory(), name="Their flat"),
        email=user.email,
        role=Role.EDITOR,
        token_hash=hashlib.sha256(token.encode()).hexdigest(),
        expires_at=timezone.now() + timedelta(days=7),
    )
    return token


def _multipart(client: APIClient, body: dict[str, Any]) -> dict[str, Any]:
    request = client._encode_data(body, format="multipart")  # (data, content_type)
    return {"data": request[0], "content_type": request[1]}


# --- expenses and income: one request schema per media type --------------------------------

RECORD_WRITES = [
    ("POST", "/api/v1/expenses/"),
    ("PUT", "/api/v1/expenses/{id}/"),
    ("PATCH", "/api/v1/expenses/{id}/"),
    ("POST", "/api/v1/incomes/"),
    ("PUT", "/api/v1/incomes/{id}/"),
    ("PATCH", "/api/v1/incomes/{id}/"),
]
RECEIPT_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _bodies(method: str, path: str) -> dict[str, dict[str, Any]]:
    content = SCHEMA["paths"][path][method.lower()]["requestBody"]["content"]
    return {media_type: _schema_of(body["schema"]) for media_type, body in content.items()}


def _json_example(method: str, path: str) -> dict[str, Any]:
    content = SCHEMA["paths"][path][method.lower()]["requestBody"]["content"]
    return next(iter(content["application/json"]["examples"].values()))["value"]


def test_exactly_the_operations_that_touch_stored_files_document_503():
    """A failing file storage answers 503 `storage_unavailable` (core/uploads.py): the
    record writes that take a receipt and the receipt downloads say so, at the top level
    and under `/books/{book_id}/`; no other operation that stores nothing (statement
    uploads, restores) does. `/health/` documents its own 503 (database down)."""
    documented = {
        (method.upper(), path.replace("/books/{book_id}", ""))
        for path, item in SCHEMA["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "503" in operation.get("responses", {})
    }
    receipts = {("GET", f"/api/v1/{kind}/{{id}}/receipt/") for kind in ("expenses", "incomes")}
    assert documented - {("GET", "/api/v1/health/")} == set(RECORD_WRITES) | receipts
    assert "503" in SCHEMA["paths"]["/api/v1/books/{book_id}/expenses/"]["post"]["responses"]


@pytest.mark.parametrize("method, path", RECORD_WRITES)
def test_record_writes_take_json_without_a_file_and_multipart_with_one(method, path):
    # Swagger's "Try it out" body for POST /expenses/ was `"amount": "string"` and a
    # `receipt` string, which a JSON body can never carry.
    bodies = _bodies(method, path)
    assert set(bodies) == {"application/json", "multipart/form-data"}
    json_body, multipart = bodies["application/json"], bodies["multipart/form-data"]
    assert set(json_body["properties"]) == set(multipart["properties"])
    assert json_body.get("required") == multipart.get("required")
    # JSON: the receipt takes only null (it removes the receipt), never a string.
    receipt = json_body["properties"]["receipt"]
    assert "format" not in receipt and "type" not in receipt
    assert receipt["allOf"] == [{"type": "string", "nullable": True, "enum": [None]}]
    # multipart: the receipt is a file part.
    assert multipart["properties"]["receipt"]["type"] == "string"
    assert multipart["properties"]["receipt"]["format"] == "binary"
    for body in (json_body, multipart):
        amount = body["properties"]["amount"]
        assert amount["type"] == "string" and amount["example"] == "12.50"
        assert re.fullmatch(amount["pattern"], amount["example"])
        assert not re.fullmatch(amount["pattern"], "string")


def test_record_json_examples_are_replayed():
    replayed = {
        (case.values[0], case.values[1])
        for case in _request_examples()
        if case.values[2] == "application/json"
    }
    assert set(RECORD_WRITES) <= replayed


@pytest.mark.parametrize("method, path", RECORD_WRITES)
def test_record_json_example_with_swaggers_receipt_sample_works(world, method, path):
    """Swagger fills a property the example leaves out from its schema: for the JSON
    receipt that is `null` (its only value), which the API takes; the old sample, a
    string, is a 400 naming the field."""
    user, objects = world
    operation = SCHEMA["paths"][path][method.lower()]
    client = _client(user, path, operation)
    url = _path_for(path, user, objects)
    body = _resolve(_json_example(method, path), user)

    refused = client.generic(
        method, url, json.dumps({**body, "receipt": "string"}), content_type="application/json"
    )
    assert refused.status_code == 400 and list(refused.json()) == ["receipt"], refused.json()

    response = client.generic(
        method, url, json.dumps({**body, "receipt": None}), content_type="application/json"
    )
    assert 200 <= response.status_code < 300, response.content
    assert response.json()["receipt"] is None


@pytest.mark.parametrize("method, path", RECORD_WRITES)
def test_record_multipart_body_takes_the_receipt_file_and_an_empty_value_removes_it(
    world, settings, tmp_path, method, path
):
    settings.MEDIA_ROOT = tmp_path
    user, objects = world
    operation = SCHEMA["paths"][path][method.lower()]
    client = _client(user, path, operation)
    url = _path_for(path, user, objects)
    body = _resolve(_json_example(method, path), user)
    receipt = SimpleUploadedFile("receipt.pdf", RECEIPT_PDF, "application/pdf")

    response = client.generic(method, url, **_multipart(client, {**body, "receipt": receipt}))
    assert 200 <= response.status_code < 300, response.content
    record = response.json()
    assert record["receipt"].endswith(f"/{record['id']}/receipt/")
    assert record["amount"] == body["amount"]

    detail = f"/api/v1/{path.split('/')[3]}/{record['id']}/"
    cleared = client.patch(detail, **_multipart(client, {"receipt": ""}))
    assert cleared.status_code == 200, cleared.content
    assert cleared.json()["receipt"] is None


# --- the docs pages load nothing from another host -----------------------------------------


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.assets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.assets.append(value)


EXTERNAL_URL = re.compile(r"""(?:https?:)?//(?!testserver\b)[a-z0-9.-]+\.[a-z]{2,}[^\s"')]*""")
# Namespace identifiers in SVG markup name no host to fetch from.
NAMESPACES = ("//www.w3.org/",)
FONT_HOSTS = ("fonts.googleapis.com", "fonts.gstatic.com")


def _external(text: str) -> list[str]:
    return [url for url in EXTERNAL_URL.findall(text) if not any(ns in url for ns in NAMESPACES)]


@pytest.mark.parametrize("path", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_docs_pages_load_nothing_from_another_host(api_client, path):
    response = api_client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert _external(html) == []
    references = _References()
    references.feed(html)
    assert references.assets, "the page references its scripts"
    for asset in references.assets:
        assert urlsplit(asset).netloc == "", asset
        served = api_client.get(asset)
        assert served.status_code == 200, asset
        body = b"".join(served.streaming_content if served.streaming else [served.content])
        text = body.decode("utf-8", "replace")
        assert not any(host in text for host in FONT_HOSTS), asset
        if asset.endswith(".css"):
            # Stylesheets fetch fonts and images through url() and @import.
            fetched = re.findall(r"""(?:url\(|@import\s+)["']?([^"')\s]+)""", text)
            assert [u for u in fetched if not u.startswith("data:") and _external(u)] == []


def test_swagger_ui_sends_the_schema_to_no_validator(api_client):
    # Swagger UI's default validatorUrl posts the schema URL to validator.swagger.io.
    html = api_client.get("/api/v1/docs/").content.decode()
    assert '"validatorUrl": null' in html


def test_redoc_uses_system_fonts(api_client):
    html = api_client.get("/api/v1/redoc/").content.decode()
    settings = json.loads(re.search(r"const redocSettings = (\{.*?\});", html, re.S).group(1))
    typography = settings["theme"]["typography"]
    for font_family in (
        typography["fontFamily"],
        typography["headings"]["fontFamily"],
        typography["code"]["fontFamily"],
    ):
        assert "Montserrat" not in font_family
        assert font_family.endswith(("sans-serif", "monospace"))
