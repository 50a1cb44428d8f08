"""Isolation matrix: every route in the URL conf, classified, and user B never reaches A's data.

The routes are discovered from the resolver, so a new endpoint is covered (or fails
`test_every_route_is_classified`) without anyone remembering to write a test. User A
owns one of every kind of record, each carrying the marker `ALICE-SECRET`; user B owns
its own records. For each class of route the matrix proves, as B:

- `Listed`: A's ids never appear in the list (B's own do).
- `Detail`: A's pk is a 404 under every method the route answers (and A's object is
  untouched afterwards); the `.json` format-suffix twin is checked too.
- `Nested`: contributions of A's goal, or A's contribution under B's goal, are 404.
- `Reads`: GET bodies (JSON, CSV, XLSX cells, PDF text, SVG) never contain the marker.
- `Mutates`: B's non-object writes (apply rules, read-all, copy budgets, restore a
  backup) leave A's records as they were.
- `Shared` / `Auth`: data shared by everyone (rates, currencies, docs) or the token
  endpoints (tests/test_auth_hardening.py, users/tests/test_api.py).

Then every writable foreign key of every serializer behind a route, and every list
filter that takes an owned id, is given A's id by B → 400, never a silent link.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from books.services import book_create
from categories.models import Category
from categories.tests.factories import CategoryFactory
from currencies.tests.factories import ExchangeRateFactory
from expenses.models import Expense
from tests.matrix_world import (
    BOOK_ROUTES_PREFIX,
    Route,
    body_text,
    build_records,
    built_once,
    discover_routes,
    fresh,
    id_filters,
    send,
    writable_foreign_keys,
)
from users.tests.factories import UserFactory

MARKER = "ALICE-SECRET"
OWN_MARKER = "BOB-OWN"


# --- route classes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    """A list of owned records; `kind` names the record in the world."""

    kind: str


@dataclass(frozen=True)
class Detail:
    """A route addressing one owned record by `pk` (CRUD or a detail @action)."""

    kind: str


@dataclass(frozen=True)
class Nested:
    """Records under a parent record: `parent_kwarg` (the parent's id) in the path, and
    with `with_pk` the child's id as `child_kwarg` — goal contributions by default, a
    connection's accounts, a webhook's deliveries."""

    with_pk: bool
    parent: str = "goal"
    child: str = "contribution"
    parent_kwarg: str = "goal_pk"
    child_kwarg: str = "pk"

    def kwargs(self, parent_pk: int, child_pk: int | None = None) -> dict[str, int]:
        kwargs = {self.parent_kwarg: parent_pk}
        if self.with_pk and child_pk is not None:
            kwargs[self.child_kwarg] = child_pk
        return kwargs


@dataclass(frozen=True)
class Reads:
    """A non-object endpoint B reads; A's marker must never be in the body.

    `variants` are reverse() kwargs (one request each); `shows_own` asserts B's own
    marker is there, so an empty body cannot pass for isolation.
    """

    variants: tuple[dict[str, str], ...] = ({},)
    shows_own: bool = False
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Mutates:
    """A non-object write B may make; A's records must be unchanged afterwards."""

    method: str
    payload: Callable[[Any, Any], Any]


@dataclass(frozen=True)
class Asks(Mutates):
    """A question sent as a POST that writes nothing (`POST /ai/categorize/`): proven like
    a write (A's records unchanged, none of A's data in the answer), and in a book a viewer
    may ask it too (tests/test_books_matrix.py)."""


@dataclass(frozen=True)
class Shared:
    """The same for every user (no owned data); B's GET works and shows no marker."""

    kind: str | None = None


@dataclass(frozen=True)
class InBook:
    """Served only under `/books/{book_id}/` (members, invitations): proven by the books
    matrix, tests/test_books_matrix.py."""


@dataclass(frozen=True)
class Auth:
    """Token and account endpoints; covered by the auth tests named in `where`."""

    where: str


def _this_month() -> str:
    return timezone.localdate().strftime("%Y-%m")


def _recategorize(world: Any, kind: str) -> dict[str, Any]:
    """The caller's own record of `kind` to no category: here B's (the worlds (A, B, rate));
    in tests/test_books_matrix.py the shared book's (its BookWorld)."""
    own = world[1].objects if isinstance(world, tuple) else world.shared
    return {"ids": [own[kind].pk], "category": None}


def _backup_payload(world: Any, client: Any) -> Any:
    response = client.get(reverse("backup-export"))
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return {"mode": "merge", "file": body}


CHART_VARIANTS = tuple(
    {"name": name, "fmt": "svg"}
    for name in ("category-breakdown", "monthly", "timeseries", "budget-status")
)

# Every named route under /api/v1/ → its class. A route missing here fails the matrix.
ROUTES: dict[str, Any] = {
    # owned lists
    "category-list": Listed("category"),
    "tag-list": Listed("tag"),
    "rule-list": Listed("rule"),
    "expense-list": Listed("expense"),
    "income-list": Listed("income"),
    "notification-list": Listed("notification"),
    "budget-list": Listed("budget"),
    "goal-list": Listed("goal"),
    "import-list": Listed("import"),
    "import-profile-list": Listed("import_profile"),
    "recurring-list": Listed("recurring"),
    # owned records by pk, and their detail actions
    "category-detail": Detail("category"),
    "tag-detail": Detail("tag"),
    "rule-detail": Detail("rule"),
    "rule-application-detail": Detail("rule_application"),
    "expense-detail": Detail("expense"),
    "expense-receipt": Detail("expense"),
    "income-detail": Detail("income"),
    "income-receipt": Detail("income"),
    "notification-detail": Detail("notification"),
    "notification-read": Detail("notification"),
    "budget-detail": Detail("budget"),
    "goal-detail": Detail("goal"),
    "import-detail": Detail("import"),
    "import-commit": Detail("import"),
    "import-profile-detail": Detail("import_profile"),
    "recurring-detail": Detail("recurring"),
    "recurring-occurrences": Detail("recurring"),
    # nested under a goal
    "goal-contribution-list": Nested(with_pk=False),
    "goal-contribution-detail": Nested(with_pk=True),
    # bank connections (SPEC §17): per user, at the top level only
    "connection-list": Listed("connection"),
    "connection-detail": Detail("connection"),
    "connection-sync": Detail("connection"),
    "connection-accounts": Detail("connection"),
    "connection-account": Nested(
        with_pk=True,
        parent="connection",
        child="connection_account",
        parent_kwarg="pk",
        child_kwarg="account_id",
    ),
    # webhooks (SPEC §17): a book's, managed by its owners (in a shared book, the books
    # matrix proves viewers and editors are refused: tests/test_books_matrix.py MANAGE)
    "webhook-list": Listed("webhook"),
    "webhook-detail": Detail("webhook"),
    "webhook-ping": Detail("webhook"),
    "webhook-rotate-secret": Detail("webhook"),
    "webhook-events": Shared(),
    "webhook-delivery-list": Nested(
        with_pk=False, parent="webhook", child="webhook_delivery", parent_kwarg="webhook_pk"
    ),
    "webhook-delivery-detail": Nested(
        with_pk=True, parent="webhook", child="webhook_delivery", parent_kwarg="webhook_pk"
    ),
    "webhook-delivery-replay": Nested(
        with_pk=True, parent="webhook", child="webhook_delivery", parent_kwarg="webhook_pk"
    ),
    # non-object reads
    "auth-me": Reads(),
    "month-summary": Reads(shows_own=True),
    "report-summary": Reads(shows_own=True),
    "report-monthly": Reads(),
    "report-trends": Reads(shows_own=True),
    "report-timeseries": Reads(),
    "report-dashboard": Reads(shows_own=True),
    "report-chart": Reads(variants=CHART_VARIANTS),
    "export-expenses-csv": Reads(shows_own=True),
    "export-incomes-csv": Reads(shows_own=True),
    "export-transactions-xlsx": Reads(shows_own=True),
    "export-report-pdf": Reads(shows_own=True),
    "backup-export": Reads(shows_own=True),
    "budget-status": Reads(shows_own=True),
    "notification-unread-count": Reads(),
    "notification-preferences": Reads(),
    "recurring-upcoming": Reads(shows_own=True, params={"days": "60"}),
    # non-object writes
    "rule-apply": Mutates("post", lambda world, client: {"only_uncategorized": False}),
    "notification-read-all": Mutates("post", lambda world, client: {}),
    "budget-copy": Mutates(
        "post",
        lambda world, client: {
            "from_month": _this_month(),
            "to_month": "2030-01",
            "overwrite": True,
        },
    ),
    "backup-restore": Mutates("post", _backup_payload),
    # B recategorises B's own record; A's ids are refused (FOREIGN_BODIES).
    "expense-recategorize": Mutates("post", lambda world, client: _recategorize(world, "expense")),
    "income-recategorize": Mutates("post", lambda world, client: _recategorize(world, "income")),
    # shared by every user
    "rate-list": Shared(),
    "rate-detail": Shared(kind="rate"),
    "currency-list": Shared(),
    "convert": Shared(),
    "schema": Shared(),
    "swagger-ui": Shared(),
    "redoc": Shared(),
    "health": Shared(),
    # token and account endpoints
    "auth-register": Auth("users/tests/test_api.py (register)"),
    "auth-token": Auth("tests/test_auth_hardening.py"),
    "auth-token-refresh": Auth("tests/test_auth_hardening.py"),
    "auth-token-verify": Auth("users/tests/test_api.py::test_verify"),
    "auth-logout": Auth("users/tests/test_api.py::test_logout_rejects_another_users_token"),
    "auth-password-change": Auth("users/tests/test_api.py::test_password_change"),
    "auth-password-reset": Auth("users/tests/test_api.py (password reset)"),
    "auth-password-reset-confirm": Auth("users/tests/test_api.py (password reset)"),
    # books (SPEC §14): B never sees A's shared book; what lives inside one is the books
    # matrix's (tests/test_books_matrix.py), as is every route under /books/{book_id}/.
    "book-list": Listed("book"),
    "book-detail": Detail("book"),
    "book-member-list": InBook(),
    "book-member-detail": InBook(),
    "book-invitation-list": InBook(),
    "book-invitation-detail": InBook(),
    "invitation-accept": Auth("books/tests/test_api.py (invitation tokens)"),
    # splits (SPEC §15): served only under /books/{book_id}/ of a shared book, so proven by
    # the books matrix (these classes say what a viewer, an editor and a stranger get).
    "settlement-list": Listed("settlement"),
    "settlement-detail": Detail("settlement"),
    "book-balances": Reads(),
    "book-settle-up": Reads(),
    "export-balances-csv": Reads(),
    "export-settlements-csv": Reads(shows_own=True),
    # insights (SPEC §16), of the request's book
    "ai-categorize": Asks(
        "post", lambda world, client: {"description": "Coffee at the corner", "kind": "expense"}
    ),
    "ai-anomalies": Reads(),
    "ai-forecast": Reads(),
    "ai-cashflow": Reads(),
    "ai-insights": Reads(),
}

# Routes outside /api/v1/ that are public by design; everything else must be in ROUTES.
PUBLIC_OUTSIDE_API = {"admin/": "Django admin (staff login)", "health/": "health alias"}
CATCH_ALL = "^api/"
# Exact patterns served to anyone: the web app's HTML shell (it holds no data; the app
# calls the API with the user's token).
PUBLIC_PAGES = {"": "the web app shell (frontend/)"}


# --- route discovery -------------------------------------------------------------------------


def api_routes() -> list[Route]:
    """The top-level API routes; those under /books/{book_id}/ are the books matrix's."""
    return [
        r
        for r in discover_routes()
        if r.pattern.startswith("api/v1/") and not r.pattern.startswith(BOOK_ROUTES_PREFIX)
    ]


API_ROUTES = api_routes()


def test_every_route_is_classified():
    unclassified = []
    for route in discover_routes():
        if route.pattern.startswith("api/v1/"):
            if route.name not in ROUTES:
                unclassified.append(str(route))
        elif route.pattern == CATCH_ALL or route.pattern in PUBLIC_PAGES:
            continue
        elif not any(route.pattern.startswith(p) for p in PUBLIC_OUTSIDE_API):
            unclassified.append(str(route))
    assert not unclassified, (
        "These routes are not in the isolation matrix. Classify each one in "
        "tests/test_isolation_matrix.py::ROUTES (Listed/Detail/Nested/Reads/Mutates/"
        f"Shared/Auth) so B-cannot-see-A is proven for it: {unclassified}"
    )


def test_matrix_has_no_stale_entries():
    names = {r.name for r in discover_routes()}
    assert not set(ROUTES) - names, (
        f"ROUTES lists routes that no longer exist: {set(ROUTES) - names}"
    )


# --- the two users' worlds -------------------------------------------------------------------


@dataclass
class World:
    user: Any
    objects: dict[str, Any]

    def pk(self, kind: str) -> int:
        return self.objects[kind].pk


def build_world(marker: str, **user_kwargs: Any) -> World:
    """A user with one of every kind of record in their personal book, and a shared book."""
    user = UserFactory(**user_kwargs)
    objects = build_records(book=user.personal_book, user=user, marker=marker)
    objects["book"] = book_create(user=user, name=f"{marker}-book")
    return World(user=user, objects=objects)


@pytest.fixture(scope="module")
def built_worlds(django_db_setup, django_db_blocker, tmp_path_factory):
    """A's and B's worlds and a rate, built once for the module (`built_once`)."""
    media = tmp_path_factory.mktemp("isolation-media")
    with built_once(django_db_blocker, media):
        alice = build_world(MARKER, username=f"{MARKER.lower()}-user")
        bob = build_world(OWN_MARKER)
        yield media, (alice, bob, ExchangeRateFactory())


@pytest.fixture
def worlds(built_worlds, db, settings):
    media, built = built_worlds
    settings.MEDIA_ROOT = str(media)
    return fresh(built)


@pytest.fixture
def bob_client(worlds, client_for):
    return client_for(worlds[1].user)


@pytest.fixture
def alice_client(worlds, client_for):
    return client_for(worlds[0].user)


# --- helpers ---------------------------------------------------------------------------------


def assert_no_marker(response: Any, where: str) -> str:
    text = body_text(response)
    assert MARKER.lower() not in text.lower(), f"{where} leaks user A's data: {text[:500]}"
    return text


def url_for(route: Route, **kwargs: Any) -> str:
    if route.formatted:
        kwargs["format"] = "json"
    return reverse(route.name, kwargs=kwargs)


def snapshot(world: World) -> dict[str, Any]:
    """A's records as stored, to prove B's requests changed nothing."""
    state = {}
    for kind, obj in world.objects.items():
        fresh = type(obj).objects.filter(pk=obj.pk).values().first()
        assert fresh is not None, f"A's {kind} was deleted by B"
        fresh.pop("updated_at", None)
        state[kind] = fresh
    state["tags_of_expense"] = sorted(world.objects["expense"].tags.values_list("pk", flat=True))
    return state


def routes_of(kind: type) -> list[Route]:
    return [r for r in API_ROUTES if isinstance(ROUTES.get(r.name), kind)]


def ids(routes: list[Route]) -> list[str]:
    return [f"{r.name}{'.fmt' if r.formatted else ''}" for r in routes]


# --- the matrix ------------------------------------------------------------------------------


@pytest.mark.parametrize("route", routes_of(Listed), ids=ids(routes_of(Listed)))
def test_lists_show_only_own_rows(route, worlds, bob_client):
    alice, bob, _ = worlds
    kind = ROUTES[route.name].kind
    response = bob_client.get(url_for(route), {"page_size": 500})
    assert response.status_code == 200, response.content
    listed = {row["id"] for row in response.json()["results"]}
    assert alice.pk(kind) not in listed
    assert bob.pk(kind) in listed
    assert_no_marker(response, str(route))


@pytest.mark.parametrize("route", routes_of(Detail), ids=ids(routes_of(Detail)))
def test_other_users_object_is_404_under_every_method(route, worlds, bob_client, alice_client):
    alice, bob, _ = worlds
    kind = ROUTES[route.name].kind
    before = snapshot(alice)
    for method in route.methods:
        url = url_for(route, pk=alice.pk(kind))
        body = {"name": "BOB-WAS-HERE", "description": "BOB-WAS-HERE", "amount": "1.00"}
        response = send(bob_client, method, url, body)
        assert response.status_code == 404, f"{method.upper()} {url} → {response.status_code}"
        assert_no_marker(response, f"{method.upper()} {url}")
    assert snapshot(alice) == before
    # The same request for B's own record is not a 404: the route really addresses pks.
    own = (
        send(bob_client, "get", url_for(route, pk=bob.pk(kind))) if "get" in route.methods else None
    )
    if own is not None:
        assert own.status_code == 200, own.content


@pytest.mark.parametrize("route", routes_of(Nested), ids=ids(routes_of(Nested)))
def test_nested_records_of_another_users_parent_are_404(route, worlds, bob_client):
    alice, bob, _ = worlds
    entry: Nested = ROUTES[route.name]
    before = snapshot(alice)
    parent, child = entry.parent, entry.child
    cases = [entry.kwargs(alice.pk(parent))]
    if entry.with_pk:
        cases = [
            entry.kwargs(alice.pk(parent), alice.pk(child)),
            entry.kwargs(bob.pk(parent), alice.pk(child)),
            entry.kwargs(alice.pk(parent), bob.pk(child)),
        ]
    for kwargs in cases:
        for method in route.methods:
            url = url_for(route, **kwargs)
            body = {"amount": "5.00", "date": "2026-01-01", "note": "BOB-WAS-HERE"}
            response = send(bob_client, method, url, body)
            assert response.status_code == 404, f"{method.upper()} {url} → {response.status_code}"
    assert snapshot(alice) == before


@pytest.mark.parametrize("route", routes_of(Reads), ids=ids(routes_of(Reads)))
def test_non_object_reads_never_contain_another_users_data(route, worlds, bob_client):
    entry: Reads = ROUTES[route.name]
    for kwargs in entry.variants:
        url = url_for(route, **kwargs)
        response = bob_client.get(url, entry.params)
        assert response.status_code == 200, f"GET {url} → {response.status_code}"
        text = assert_no_marker(response, f"GET {url}")
        if entry.shows_own:
            assert OWN_MARKER.lower() in text.lower(), f"GET {url} shows none of B's own data"


@pytest.mark.parametrize("route", routes_of(Mutates), ids=ids(routes_of(Mutates)))
def test_non_object_writes_leave_another_users_data_alone(route, worlds, bob_client):
    alice, _, _ = worlds
    entry: Mutates = ROUTES[route.name]
    before = snapshot(alice)
    response = send(bob_client, entry.method, url_for(route), entry.payload(worlds, bob_client))
    assert response.status_code < 300, response.content
    assert_no_marker(response, str(route))
    assert snapshot(alice) == before


@pytest.mark.parametrize("route", routes_of(Shared), ids=ids(routes_of(Shared)))
def test_shared_routes_answer_b_without_a_data(route, worlds, bob_client):
    _, _, rate = worlds
    entry: Shared = ROUTES[route.name]
    kwargs = {"pk": rate.pk} if entry.kind == "rate" else {}
    params = {"amount": "1", "from": "EUR", "to": "USD"} if route.name == "convert" else {}
    response = bob_client.get(url_for(route, **kwargs), params)
    assert response.status_code == 200, response.content
    assert_no_marker(response, str(route))


# --- foreign keys in bodies and filters ------------------------------------------------------


def _today() -> str:
    return timezone.localdate().isoformat()


@dataclass(frozen=True)
class ForeignBody:
    """B sends A's `target` id in `field`; on `own` (B's record) for a detail route."""

    target: str
    payload: Callable[[int], dict[str, Any]]
    own: str | None = None


# (route name, serializer field) → how to send A's id there. Derived coverage check below.
FOREIGN_BODIES: dict[tuple[str, str], ForeignBody] = {
    ("category-list", "parent"): ForeignBody(
        "category", lambda pk: {"name": "B child", "kind": "expense", "parent": pk}
    ),
    ("category-detail", "parent"): ForeignBody(
        "category", lambda pk: {"parent": pk}, own="category"
    ),
    ("rule-list", "category"): ForeignBody(
        "category",
        lambda pk: {
            "name": "B rule",
            "field": "any",
            "operator": "contains",
            "value": "x",
            "category": pk,
        },
    ),
    ("rule-detail", "category"): ForeignBody("category", lambda pk: {"category": pk}, own="rule"),
    ("expense-list", "category"): ForeignBody(
        "category",
        lambda pk: {"amount": "1.00", "date": _today(), "description": "B", "category": pk},
    ),
    ("expense-detail", "category"): ForeignBody(
        "category", lambda pk: {"category": pk}, own="expense"
    ),
    ("income-list", "category"): ForeignBody(
        "income_category",
        lambda pk: {"amount": "1.00", "date": _today(), "description": "B", "category": pk},
    ),
    ("income-detail", "category"): ForeignBody(
        "income_category", lambda pk: {"category": pk}, own="income"
    ),
    ("budget-list", "category"): ForeignBody(
        "category",
        lambda pk: {"month": "2031-01", "scope": "category", "category": pk, "amount": "10.00"},
    ),
    ("budget-detail", "category"): ForeignBody(
        "category", lambda pk: {"category": pk}, own="budget"
    ),
    ("recurring-list", "category"): ForeignBody(
        "category",
        lambda pk: {
            "kind": "expense",
            "amount": "5.00",
            "description": "B bill",
            "frequency": "monthly",
            "start_date": _today(),
            "category": pk,
        },
    ),
    ("recurring-detail", "category"): ForeignBody(
        "category", lambda pk: {"category": pk}, own="recurring"
    ),
    ("expense-recategorize", "ids"): ForeignBody(
        "expense", lambda pk: {"ids": [pk], "category": None}
    ),
    ("expense-recategorize", "category"): ForeignBody(
        "category", lambda pk: {"ids": [1], "category": pk}
    ),
    ("income-recategorize", "ids"): ForeignBody(
        "income", lambda pk: {"ids": [pk], "category": None}
    ),
    ("income-recategorize", "category"): ForeignBody(
        "income_category", lambda pk: {"ids": [1], "category": pk}
    ),
    ("import-profile-list", "from_batch"): ForeignBody(
        "import", lambda pk: {"name": "B profile", "from_batch": pk}
    ),
    ("import-profile-detail", "from_batch"): ForeignBody(
        "import", lambda pk: {"from_batch": pk}, own="import_profile"
    ),
}

# (route name, query parameter) → the kind of A's record whose id is sent.
FOREIGN_FILTERS: dict[tuple[str, str], str] = {
    ("expense-list", "category"): "category",
    ("income-list", "category"): "income_category",
    ("budget-list", "category"): "category",
    ("export-expenses-csv", "category"): "category",
    ("export-incomes-csv", "category"): "income_category",
    ("export-transactions-xlsx", "category"): "category",
    ("category-detail", "reassign_to"): "category",
}


def test_every_foreign_key_and_id_filter_is_in_the_tables():
    missing_bodies = writable_foreign_keys(API_ROUTES) - set(FOREIGN_BODIES)
    missing_filters = id_filters(API_ROUTES) - set(FOREIGN_FILTERS)
    assert not missing_bodies, (
        f"Writable foreign keys without an isolation case; add them to FOREIGN_BODIES: "
        f"{sorted(missing_bodies)}"
    )
    assert not missing_filters, (
        f"Id filters without an isolation case; add them to FOREIGN_FILTERS: "
        f"{sorted(missing_filters)}"
    )


@pytest.mark.parametrize(
    ("route_name", "field_name"),
    sorted(FOREIGN_BODIES),
    ids=[":".join(k) for k in sorted(FOREIGN_BODIES)],
)
def test_another_users_id_in_a_body_is_400(route_name, field_name, worlds, bob_client):
    alice, bob, _ = worlds
    case = FOREIGN_BODIES[(route_name, field_name)]
    payload = case.payload(alice.pk(case.target))
    if case.own:
        response = bob_client.patch(
            reverse(route_name, kwargs={"pk": bob.pk(case.own)}), payload, format="json"
        )
    else:
        response = bob_client.post(reverse(route_name), payload, format="json")
    assert response.status_code == 400, response.content
    assert field_name in response.json(), response.json()


@pytest.mark.parametrize(
    ("route_name", "param"),
    sorted(FOREIGN_FILTERS),
    ids=[":".join(k) for k in sorted(FOREIGN_FILTERS)],
)
def test_another_users_id_in_a_filter_is_400(route_name, param, worlds, bob_client):
    alice, bob, _ = worlds
    foreign = alice.pk(FOREIGN_FILTERS[(route_name, param)])
    if route_name == "category-detail":
        # A category B can delete (unused), so only `reassign_to` can refuse.
        spare = CategoryFactory(user=bob.user, name="B spare")
        response = bob_client.delete(
            f"{reverse(route_name, kwargs={'pk': spare.pk})}?{param}={foreign}"
        )
        assert Category.objects.filter(pk=spare.pk).exists()
    else:
        response = bob_client.get(reverse(route_name), {param: foreign})
    assert response.status_code == 400, body_text(response)[:300]
    assert param in response.json()


def test_tag_names_never_link_another_users_tag(worlds, bob_client):
    alice, bob, _ = worlds
    a_tag = alice.objects["tag"]
    response = bob_client.post(
        reverse("expense-list"),
        {"amount": "1.00", "date": _today(), "description": "B", "tags": [a_tag.name]},
        format="json",
    )
    assert response.status_code == 201, response.content
    tags = list(Expense.objects.get(pk=response.json()["id"]).tags.all())
    assert [t.user_id for t in tags] == [bob.user.pk]
    assert a_tag.pk not in {t.pk for t in tags}
    assert list(Expense.objects.filter(tags=a_tag)) == [alice.objects["expense"]]


def test_alice_still_sees_her_own_data(worlds, alice_client):
    """Positive control for the matrix: the marker really is in A's own responses."""
    alice, _, _ = worlds
    response = alice_client.get(reverse("expense-detail", kwargs={"pk": alice.pk("expense")}))
    assert response.status_code == 200
    assert MARKER in response.content.decode()
    listed = alice_client.get(reverse("notification-list")).json()["results"]
    assert [row["id"] for row in listed] == [alice.pk("notification")]
