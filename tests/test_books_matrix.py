"""Books permission matrix: every route under `/api/v1/books/{book_id}/`, by role (SPEC §14).

The routes are discovered from the resolver, so an app served under a book (its name in
`BOOK_APPS`, budget_tracker/api_urls.py) is covered as soon as it is, and a route nobody
classified fails `test_every_book_route_is_classified`. Record routes take their class
from the user-against-user matrix (tests/test_isolation_matrix.py::ROUTES: a list, a
record by pk, goal contributions, a read, a non-object write); the book's own routes
(members, invitations, and the book's settings at `/books/{id}/`) are `Manage` here.

The world: a shared book S owned by A, with V and M viewers and E an editor, holding one
of every kind of record (each naming `SHARED_MARKER`); A's personal book with the same
(`PERSONAL_MARKER`); the outsider O with their own personal book (`OUTSIDE_MARKER`).
For every route and every method it answers:

- O (not a member) → 404, no trace of S in the body, and S unchanged;
- V → reads 200 (lists and figures show S's records), writes 403 and S unchanged;
- E → writes on records are never refused (2xx, or 4xx for the body — not 403/404), a
  create lands in S; but members, invitations and the book's settings → 403;
- A → manages the book (changes roles, removes members, invites, revokes, renames).

Then every writable foreign key of every serializer behind a book route, and every list
filter taking an id, gets an id of another book → 400: O's (E sends it) and A's personal
book's (A, a member of both, sends it). And the top level (A's personal book) and S never
show each other's records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from books.models import Book, Membership, Role, role_allows
from books.services import book_create, invitation_create
from categories.tests.factories import CategoryFactory
from notifications.tests.factories import NotificationFactory
from tests.matrix_world import (
    BOOK_ROUTES_PREFIX,
    Route,
    body_text,
    book_state,
    build_records,
    built_once,
    discover_routes,
    fresh,
    id_filters,
    send,
    writable_foreign_keys,
)
from tests.test_isolation_matrix import (
    FOREIGN_BODIES,
    FOREIGN_FILTERS,
    ROUTES,
    Asks,
    Detail,
    Listed,
    Mutates,
    Nested,
    Reads,
)
from users.tests.factories import UserFactory

SHARED_MARKER = "SHARED-BOOK-SECRET"
PERSONAL_MARKER = "OWNERS-PERSONAL"
OUTSIDE_MARKER = "OUTSIDER-OWN"
VIEWER_MARKER = "VIEWER-OWN"


# --- the book's own routes -------------------------------------------------------------------


@dataclass(frozen=True)
class Manage:
    """A route of the book itself: `least[method]` is the least role allowed it.

    `target` names the object the detail route addresses (`member`: M's membership;
    `invitation`: S's pending invitation; `book`: S itself); `owner_status` overrides the
    owner's expected status per method (deleting a book others are still in → 409).
    """

    least: dict[str, str]
    target: str | None = None
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)
    owner_status: dict[str, int] = field(default_factory=dict)


MANAGE: dict[str, Manage] = {
    "book-member-list": Manage(least={"get": Role.VIEWER}),
    "book-member-detail": Manage(
        least={"get": Role.VIEWER, "put": Role.OWNER, "patch": Role.OWNER, "delete": Role.OWNER},
        target="member",
        bodies={"put": {"role": "editor"}, "patch": {"role": "editor"}},
    ),
    "book-invitation-list": Manage(
        least={"get": Role.OWNER, "post": Role.OWNER},
        bodies={"post": {"email": "newcomer@example.com", "role": "viewer"}},
    ),
    "book-invitation-detail": Manage(
        least={"get": Role.OWNER, "delete": Role.OWNER}, target="invitation"
    ),
    # The book's settings: served at the top level (`/books/{id}/`), not under it.
    "book-detail": Manage(
        least={"get": Role.VIEWER, "put": Role.OWNER, "patch": Role.OWNER, "delete": Role.OWNER},
        target="book",
        bodies={
            "put": {"name": "Renamed by owner", "month_start_day": 1},
            "patch": {"name": "Renamed by owner"},
        },
        owner_status={"delete": 409},
    ),
    # Webhooks send the book's data to a URL of the owner's choosing (SPEC §17): owners
    # only, reading included (the log holds the events' bodies).
    "webhook-list": Manage(
        least={"get": Role.OWNER, "post": Role.OWNER},
        bodies={"post": {"url": "https://hooks.example.com/new", "events": ["income.created"]}},
    ),
    "webhook-detail": Manage(
        least={"get": Role.OWNER, "put": Role.OWNER, "patch": Role.OWNER, "delete": Role.OWNER},
        target="webhook",
        bodies={
            "put": {"url": "https://hooks.example.com/put", "events": ["expense.deleted"]},
            "patch": {"description": "Renamed by owner"},
        },
    ),
    "webhook-events": Manage(least={"get": Role.OWNER}),
    "webhook-ping": Manage(least={"post": Role.OWNER}, target="webhook"),
    "webhook-rotate-secret": Manage(least={"post": Role.OWNER}, target="webhook"),
    "webhook-delivery-list": Manage(least={"get": Role.OWNER}, target="webhook_parent"),
    "webhook-delivery-detail": Manage(least={"get": Role.OWNER}, target="delivery"),
    "webhook-delivery-replay": Manage(least={"post": Role.OWNER}, target="delivery"),
}

# Notifications stay per user (SPEC §14): under a book, each member sees only their own.
PER_USER = {
    "notification-list",
    "notification-detail",
    "notification-read",
    "notification-read-all",
    "notification-unread-count",
    "notification-preferences",
}
RECORD_CLASSES = (Listed, Detail, Nested, Reads, Mutates)


def book_class(name: str | None) -> Any:
    """What the matrix proves for a route under a book; None when nobody said."""
    if name in MANAGE:
        return MANAGE[name]
    if name in PER_USER:
        return "per-user"
    entry = ROUTES.get(name or "")
    if isinstance(entry, RECORD_CLASSES) and getattr(entry, "kind", None) != "book":
        return entry
    return None


ALL_ROUTES = discover_routes()
BOOK_ROUTES = [r for r in ALL_ROUTES if r.in_book]
BOOK_ROUTE_NAMES = {r.name for r in BOOK_ROUTES}
SETTINGS_ROUTES = [r for r in ALL_ROUTES if r.name == "book-detail" and not r.in_book]
MANAGE_ROUTES = [r for r in BOOK_ROUTES if r.name in MANAGE] + SETTINGS_ROUTES
RECORD_ROUTES = [r for r in BOOK_ROUTES if isinstance(book_class(r.name), RECORD_CLASSES)]
PER_USER_ROUTES = [r for r in BOOK_ROUTES if r.name in PER_USER]
WRITES = ("post", "put", "patch", "delete")


def ids(routes: list[Route]) -> list[str]:
    return [str(r.name) for r in routes]


def test_every_book_route_is_classified():
    unclassified = [str(r) for r in BOOK_ROUTES if book_class(r.name) is None]
    assert not unclassified, (
        "These routes are served under /books/{book_id}/ but the books matrix does not "
        "know what a viewer, an editor and a stranger may do there. Classify each in "
        "tests/test_isolation_matrix.py::ROUTES (a record route) or in "
        f"tests/test_books_matrix.py::MANAGE / PER_USER: {unclassified}"
    )


def test_the_book_routes_are_found():
    """Discovery works: the member and invitation routes exist only under a book."""
    assert {"book-member-list", "book-member-detail", "book-invitation-list"} <= (BOOK_ROUTE_NAMES)
    assert all(r.pattern.startswith(BOOK_ROUTES_PREFIX) for r in BOOK_ROUTES)
    assert SETTINGS_ROUTES, "GET/PATCH/DELETE /books/{id}/ is gone"


def test_book_matrix_tables_have_no_stale_entries():
    names = {r.name for r in ALL_ROUTES}
    assert not (set(MANAGE) | PER_USER) - names


# --- the world -------------------------------------------------------------------------------


@dataclass
class BookWorld:
    book: Book
    owner: Any
    editor: Any
    viewer: Any
    spare: Any  # a second viewer, whom the owner manages
    outsider: Any
    shared: dict[str, Any]
    personal: dict[str, Any]
    outside: dict[str, Any]
    invitation: Any
    clients: dict[str, Any]

    def url(self, route: Route, **kwargs: Any) -> str:
        if route.in_book:
            kwargs["book_id"] = self.book.pk
        if route.formatted:
            kwargs["format"] = "json"
        return reverse(route.name, kwargs=kwargs)


@pytest.fixture(scope="module")
def built_world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The book S and its people and records, built once for the module (`built_once`)."""
    media = tmp_path_factory.mktemp("books-matrix-media")
    with built_once(django_db_blocker, media):
        owner, editor, viewer, spare, outsider = (
            UserFactory(username=f"{role}-user")
            for role in ("owner", "editor", "viewer", "spare", "outsider")
        )
        book = book_create(user=owner, name="Household")
        for role, members in ((Role.EDITOR, [editor]), (Role.VIEWER, [viewer, spare])):
            for member in members:
                Membership.objects.create(book=book, user=member, role=role)
        NotificationFactory(user=viewer, title=f"{VIEWER_MARKER}-notification")
        yield (
            media,
            BookWorld(
                book=book,
                owner=owner,
                editor=editor,
                viewer=viewer,
                spare=spare,
                outsider=outsider,
                shared=build_records(book=book, user=owner, marker=SHARED_MARKER),
                personal=build_records(
                    book=owner.personal_book, user=owner, marker=PERSONAL_MARKER
                ),
                outside=build_records(
                    book=outsider.personal_book, user=outsider, marker=OUTSIDE_MARKER
                ),
                invitation=invitation_create(
                    book=book, email="guest@example.com", role=Role.VIEWER, by=owner
                ),
                clients={},
            ),
        )


@pytest.fixture
def world(built_world, db, settings, client_for, public_dns):
    media, built = built_world
    settings.MEDIA_ROOT = str(media)
    world = fresh(built)
    world.clients = {
        role: client_for(user)
        for role, user in (
            ("owner", world.owner),
            ("editor", world.editor),
            ("viewer", world.viewer),
            ("outsider", world.outsider),
        )
    }
    return world


# --- requests for every route and method -----------------------------------------------------


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    body: Any = None

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.url}"


def _today() -> str:
    return timezone.localdate().isoformat()


def _statement() -> ContentFile:
    content = f"Date,Description,Amount\n{_today()},EDITOR-imported,-4.00\n".encode()
    return ContentFile(content, name="editor-statement.csv")


# Valid bodies for an editor's create under the book (the rest come from FOREIGN_BODIES,
# given an id of the book's own record).
CREATE_BODIES: dict[str, Callable[[BookWorld], dict[str, Any]]] = {
    "tag-list": lambda w: {"name": "EDITOR-tag"},
    "goal-list": lambda w: {"name": "EDITOR-goal", "target_amount": "100.00"},
    "import-list": lambda w: {"file": _statement()},
    "goal-contribution-list": lambda w: {"amount": "5.00", "date": _today(), "note": "EDITOR"},
}


def create_body(route: Route, world: BookWorld) -> dict[str, Any] | None:
    if route.name in CREATE_BODIES:
        return CREATE_BODIES[route.name](world)
    for (name, _field), case in FOREIGN_BODIES.items():
        if name == route.name and case.own is None:
            return case.payload(world.shared[case.target].pk)
    return None


def _write_body(who: str) -> dict[str, Any]:
    marker = f"{who.upper()}-WAS-HERE"
    return {"name": marker, "description": marker, "note": marker, "amount": "1.00"}


def _ordered(methods: list[str]) -> list[str]:
    """Deletes last, so the other methods still find the record."""
    return sorted(methods, key=lambda m: m == "delete")


def calls(route: Route, world: BookWorld, who: str, client: Any) -> list[Call]:
    """One request per method (and variant) the route answers, aimed at S's records."""
    entry = book_class(route.name)
    result = []
    if isinstance(entry, Reads):
        for kwargs in entry.variants:
            result.append(Call("get", world.url(route, **kwargs), dict(entry.params)))
        return result
    if isinstance(entry, Mutates):
        return [Call(entry.method, world.url(route), entry.payload(world, client))]
    kwargs: dict[str, Any] = {}
    if isinstance(entry, Detail):
        kwargs = {"pk": world.shared[entry.kind].pk}
    elif isinstance(entry, Nested):
        kwargs = {"goal_pk": world.shared["goal"].pk}
        if entry.with_pk:
            kwargs["pk"] = world.shared["contribution"].pk
    elif entry == "per-user" and "pk" in route.pattern:
        kwargs = {"pk": world.shared["notification"].pk}
    for method in _ordered(route.methods):
        if method == "get":
            body = {"page_size": 500} if isinstance(entry, Listed) else None
        elif method == "post" and isinstance(entry, Listed | Nested):
            body = create_body(route, world) or _write_body(who)
        else:
            body = _write_body(who)
        result.append(Call(method, world.url(route, **kwargs), body))
    return result


def manage_calls(route: Route, world: BookWorld) -> list[Call]:
    entry: Manage = MANAGE[route.name]
    target = {
        None: {},
        "member": {"user_id": world.spare.pk},
        "invitation": {"pk": world.invitation.pk},
        "book": {"pk": world.book.pk},
        "webhook": {"pk": world.shared["webhook"].pk},
        "webhook_parent": {"webhook_pk": world.shared["webhook"].pk},
        "delivery": {
            "webhook_pk": world.shared["webhook"].pk,
            "pk": world.shared["webhook_delivery"].pk,
        },
    }[entry.target]
    return [
        Call(method, world.url(route, **target), entry.bodies.get(method))
        for method in _ordered(route.methods)
    ]


def assert_no_trace(response: Any, call: Call, *markers: str) -> str:
    text = body_text(response)
    for marker in markers:
        assert marker.lower() not in text.lower(), f"{call} shows {marker}: {text[:500]}"
    return text


# --- the matrix ------------------------------------------------------------------------------

EVERY_BOOK_ROUTE = BOOK_ROUTES + SETTINGS_ROUTES


@pytest.mark.parametrize("route", EVERY_BOOK_ROUTE, ids=ids(EVERY_BOOK_ROUTE))
def test_a_non_member_gets_404_under_every_method(route, world):
    client = world.clients["outsider"]
    before = book_state(world.book)
    requests = (
        manage_calls(route, world) if route.name in MANAGE else calls(route, world, "o", client)
    )
    for call in requests:
        response = send(client, call.method, call.url, call.body)
        assert response.status_code == 404, f"{call} → {response.status_code}"
        assert_no_trace(response, call, SHARED_MARKER, "Household")
    assert book_state(world.book) == before


@pytest.mark.parametrize("route", RECORD_ROUTES, ids=ids(RECORD_ROUTES))
def test_a_viewer_reads_the_book_but_cannot_write(route, world):
    entry = book_class(route.name)
    client = world.clients["viewer"]
    before = book_state(world.book)
    for call in calls(route, world, "viewer", client):
        response = send(client, call.method, call.url, call.body)
        if call.method != "get" and not isinstance(entry, Asks):
            assert response.status_code == 403, f"{call} → {response.status_code}"
            assert book_state(world.book) == before, f"{call} changed the book"
            continue
        assert response.status_code == 200, f"{call} → {response.status_code}"
        assert book_state(world.book) == before, f"{call} changed the book"
        text = assert_no_trace(response, call, PERSONAL_MARKER, OUTSIDE_MARKER)
        if isinstance(entry, Listed):
            listed = {row["id"] for row in response.json()["results"]}
            assert world.shared[entry.kind].pk in listed, f"{call} misses the book's record"
        if isinstance(entry, Listed | Nested) or getattr(entry, "shows_own", False):
            assert SHARED_MARKER.lower() in text.lower(), f"{call} shows none of the book"


def test_per_user_records_are_not_served_under_a_book():
    """A's notifications (even though A owns the book) are never a member's: no route
    serves them under a book, only at the top level to their own user."""
    assert not PER_USER_ROUTES
    assert {r.name for r in ALL_ROUTES if not r.in_book} >= PER_USER


WRITABLE_RECORD_ROUTES = [r for r in RECORD_ROUTES if set(r.methods) & set(WRITES)]


@pytest.mark.parametrize("route", WRITABLE_RECORD_ROUTES, ids=ids(WRITABLE_RECORD_ROUTES))
def test_an_editor_may_write_records(route, world):
    client = world.clients["editor"]
    for call in calls(route, world, "editor", client):
        if call.method == "get":
            continue
        response = send(client, call.method, call.url, call.body)
        assert response.status_code not in (401, 403, 404, 405), (
            f"{call} → {response.status_code}: {body_text(response)[:300]}"
        )
        assert response.status_code < 500, f"{call} → {response.status_code}"


CREATE_ROUTES = [
    r
    for r in RECORD_ROUTES
    if isinstance(book_class(r.name), Listed | Nested)
    and "post" in r.methods
    and (
        r.name in CREATE_BODIES
        or any(n == r.name and not c.own for (n, _), c in FOREIGN_BODIES.items())
    )
]


@pytest.mark.parametrize("route", CREATE_ROUTES, ids=ids(CREATE_ROUTES))
def test_an_editors_create_lands_in_the_book(route, world):
    client = world.clients["editor"]
    call = next(c for c in calls(route, world, "editor", client) if c.method == "post")
    response = send(client, "post", call.url, call.body)
    assert response.status_code == 201, f"{call} → {response.status_code}: {response.content}"
    model = route.view_class.queryset.model
    created = model.objects.get(pk=response.json()["id"])
    holder = created.goal if isinstance(book_class(route.name), Nested) else created
    assert holder.book_id == world.book.pk
    # Not in the editor's personal book, nor in the owner's: the top level is that.
    if isinstance(book_class(route.name), Listed):
        top = reverse(route.name)
        for who in ("editor", "owner"):
            rows = world.clients[who].get(top, {"page_size": 500}).json()["results"]
            assert created.pk not in {row["id"] for row in rows}, f"{who}'s {top} shows it"
        in_book = client.get(call.url, {"page_size": 500}).json()["results"]
        assert created.pk in {row["id"] for row in in_book}


@pytest.mark.parametrize("route", MANAGE_ROUTES, ids=ids(MANAGE_ROUTES))
def test_only_the_owner_manages_the_book(route, world):
    entry: Manage = MANAGE[route.name]
    for who in ("viewer", "editor", "owner"):
        role = {"viewer": Role.VIEWER, "editor": Role.EDITOR, "owner": Role.OWNER}[who]
        client = world.clients[who]
        for call in manage_calls(route, world):
            before = book_state(world.book)
            response = send(client, call.method, call.url, call.body)
            if not role_allows(role, entry.least[call.method]):
                assert response.status_code == 403, f"{who}: {call} → {response.status_code}"
                assert book_state(world.book) == before, f"{who}: {call} changed the book"
            elif who == "owner" and call.method in entry.owner_status:
                assert response.status_code == entry.owner_status[call.method], (
                    f"{who}: {call} → {response.status_code}: {response.content}"
                )
            else:
                assert 200 <= response.status_code < 300, (
                    f"{who}: {call} → {response.status_code}: {response.content}"
                )
    world.book.refresh_from_db()
    if route.name == "book-detail":
        assert world.book.name == "Renamed by owner"


def test_the_owners_management_takes_effect(world):
    """The owner's writes above are real: the role changes, the member goes, the
    invitation is revoked and the newcomer invited."""
    owner = world.clients["owner"]
    member = reverse(
        "book-member-detail", kwargs={"book_id": world.book.pk, "user_id": world.spare.pk}
    )
    assert owner.patch(member, {"role": "editor"}, format="json").status_code == 200
    assert world.book.memberships.get(user=world.spare).role == Role.EDITOR
    assert owner.delete(member).status_code == 204
    assert not world.book.memberships.filter(user=world.spare).exists()
    invitation = reverse(
        "book-invitation-detail", kwargs={"book_id": world.book.pk, "pk": world.invitation.pk}
    )
    assert owner.delete(invitation).status_code == 204
    world.invitation.refresh_from_db()
    assert world.invitation.revoked_at is not None
    invitations = reverse("book-invitation-list", kwargs={"book_id": world.book.pk})
    response = owner.post(
        invitations, {"email": "new@example.com", "role": "editor"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert world.book.invitations.filter(email="new@example.com", role=Role.EDITOR).exists()
    # An editor may leave (remove themselves), which is not managing members.
    own = reverse(
        "book-member-detail", kwargs={"book_id": world.book.pk, "user_id": world.editor.pk}
    )
    assert world.clients["editor"].delete(own).status_code == 204


# --- the top level and the book never mix ----------------------------------------------------

# Routes with a top-level twin (balances, settle-up and settlements are a shared book's only).
TOP_LEVEL_NAMES = {r.name for r in ALL_ROUTES if not r.in_book}
MIXING_ROUTES = [
    r
    for r in RECORD_ROUTES
    if "get" in r.methods
    and r.name in TOP_LEVEL_NAMES
    and (
        isinstance(book_class(r.name), Listed | Detail)
        or getattr(book_class(r.name), "shows_own", False)
    )
]


@pytest.mark.parametrize("route", MIXING_ROUTES, ids=ids(MIXING_ROUTES))
def test_the_top_level_and_the_book_do_not_show_each_others_records(route, world):
    entry = book_class(route.name)
    owner = world.clients["owner"]
    if isinstance(entry, Detail):
        # A, a member of both, cannot reach one book's record through the other.
        in_book = world.url(route, pk=world.personal[entry.kind].pk)
        at_top = reverse(route.name, kwargs={"pk": world.shared[entry.kind].pk})
        assert owner.get(in_book).status_code == 404, in_book
        assert owner.get(at_top).status_code == 404, at_top
        return
    if isinstance(entry, Listed):
        params = {"page_size": 500}
        top, in_book = reverse(route.name), world.url(route)
        shared = world.shared[entry.kind].pk
        personal = world.personal[entry.kind].pk
        top_rows = {row["id"] for row in owner.get(top, params).json()["results"]}
        book_rows = {row["id"] for row in owner.get(in_book, params).json()["results"]}
        assert personal in top_rows and shared not in top_rows
        assert shared in book_rows and personal not in book_rows
    else:
        params = dict(entry.params)
        top = reverse(route.name, kwargs=entry.variants[0])
        in_book = world.url(route, **entry.variants[0])
    top_text = body_text(owner.get(top, params)).lower()
    book_text = body_text(owner.get(in_book, params)).lower()
    assert PERSONAL_MARKER.lower() in top_text and SHARED_MARKER.lower() not in top_text, top
    assert SHARED_MARKER.lower() in book_text and PERSONAL_MARKER.lower() not in book_text, in_book


# --- ids of another book in bodies and filters -----------------------------------------------

BOOK_FOREIGN_KEYS = sorted(writable_foreign_keys(BOOK_ROUTES))
BOOK_ID_FILTERS = sorted(
    id_filters(BOOK_ROUTES) | {k for k in FOREIGN_FILTERS if k[0] in BOOK_ROUTE_NAMES}
)


def test_every_foreign_key_and_id_filter_of_a_book_route_has_a_case():
    missing_bodies = set(BOOK_FOREIGN_KEYS) - set(FOREIGN_BODIES)
    missing_filters = set(BOOK_ID_FILTERS) - set(FOREIGN_FILTERS)
    assert not missing_bodies, (
        f"Writable foreign keys of book routes without a case in "
        f"tests/test_isolation_matrix.py::FOREIGN_BODIES: {sorted(missing_bodies)}"
    )
    assert not missing_filters, (
        f"Id filters of book routes without a case in "
        f"tests/test_isolation_matrix.py::FOREIGN_FILTERS: {sorted(missing_filters)}"
    )


def _route(name: str) -> Route:
    return next(r for r in BOOK_ROUTES if r.name == name)


@pytest.mark.parametrize(
    ("route_name", "field_name"), BOOK_FOREIGN_KEYS, ids=[":".join(k) for k in BOOK_FOREIGN_KEYS]
)
def test_another_books_id_in_a_body_is_400(route_name, field_name, world):
    case = FOREIGN_BODIES[(route_name, field_name)]
    route = _route(route_name)
    url = world.url(route, pk=world.shared[case.own].pk) if case.own else world.url(route)
    before = book_state(world.book)
    # The outsider's record (E is no member there), and the owner's personal record
    # (A is a member of both books: being able to see it is not enough).
    for who, foreign in (("editor", world.outside), ("owner", world.personal)):
        payload = case.payload(foreign[case.target].pk)
        response = send(world.clients[who], "patch" if case.own else "post", url, payload)
        assert response.status_code == 400, f"{who}: {url} → {response.content}"
        assert field_name in response.json(), response.json()
    assert book_state(world.book) == before


@pytest.mark.parametrize(
    ("route_name", "param"), BOOK_ID_FILTERS, ids=[":".join(k) for k in BOOK_ID_FILTERS]
)
def test_another_books_id_in_a_filter_is_400(route_name, param, world):
    target = FOREIGN_FILTERS[(route_name, param)]
    route = _route(route_name)
    for who, foreign in (("editor", world.outside), ("owner", world.personal)):
        client = world.clients[who]
        if route_name == "category-detail":
            # A category of the book that can be deleted, so only `reassign_to` refuses.
            spare = CategoryFactory(
                user=world.editor, book=world.book, name=f"unused-{who}", kind="expense"
            )
            url = world.url(route, pk=spare.pk)
            response = client.delete(f"{url}?{param}={foreign[target].pk}")
            assert type(spare).objects.filter(pk=spare.pk).exists()
        else:
            response = client.get(world.url(route), {param: foreign[target].pk})
        assert response.status_code == 400, f"{who}: {body_text(response)[:300]}"
        assert param in response.json()
