"""Categories, tags and rules in books (SPEC §14): one book's are invisible to others,
system categories are shared read-only, rules run only over their own book's records."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from categories.models import Category, Kind, Rule, RuleApplication, Tag
from categories.tests.factories import CategoryFactory, RuleFactory, TagFactory
from expenses.models import Expense
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(db):
    return UserFactory()


@pytest.fixture
def viewer(db):
    return UserFactory()


@pytest.fixture
def book(shared_book, user, editor, viewer):
    """A shared book owned by `user`, with an editor and a viewer."""
    return shared_book(owner=user, editors=[editor], viewers=[viewer])


def url(book, resource, pk=None):
    return f"/api/v1/books/{book.pk}/{resource}/" + (f"{pk}/" if pk is not None else "")


def expense(book, user, description="x", category=None):
    return Expense.objects.create(
        book=book,
        user=user,
        amount=Decimal("5.00"),
        currency="USD",
        base_amount=Decimal("5.00"),
        exchange_rate=1,
        date=date(2026, 1, 1),
        description=description,
        category=category,
    )


def names(response):
    assert response.status_code == 200, response.content
    return {row["name"] for row in response.json()["results"]}


# --- where a create lands ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "model", "body"),
    [
        ("categories", Category, {"name": "Household", "kind": "expense"}),
        ("tags", Tag, {"name": "Household"}),
    ],
)
def test_editor_creates_in_the_book_not_the_personal_one(
    client_for, editor, book, resource, model, body
):
    client = client_for(editor)
    response = client.post(url(book, resource), body, format="json")
    assert response.status_code == 201, response.content
    row = model.objects.get(pk=response.json()["id"])
    assert (row.book_id, row.user_id) == (book.pk, editor.pk)

    assert "Household" in names(client.get(url(book, resource)))
    assert "Household" not in names(client.get(f"/api/v1/{resource}/"))
    # …and the editor's personal one stays out of the book.
    assert client.post(f"/api/v1/{resource}/", {**body, "name": "Mine"}).status_code == 201
    assert "Mine" not in names(client.get(url(book, resource)))
    assert "Mine" in names(client.get(f"/api/v1/{resource}/"))


def test_rule_created_in_a_book_takes_its_category_and_tags_there(client_for, editor, book):
    category = CategoryFactory(book=book, user=None, name="Groceries shared")
    TagFactory(book=book, user=None, name="weekly")
    TagFactory(user=editor, name="weekly")  # same name in the personal book: not reused
    client = client_for(editor)
    response = client.post(
        url(book, "rules"),
        {
            "name": "Market",
            "value": "market",
            "category": category.pk,
            "add_tags": ["weekly", "new"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    rule = Rule.objects.get(pk=response.json()["id"])
    assert (rule.book_id, rule.user_id) == (book.pk, editor.pk)
    assert {(tag.name, tag.book_id) for tag in rule.add_tags.all()} == {
        ("weekly", book.pk),
        ("new", book.pk),
    }
    assert not client.get("/api/v1/rules/").json()["results"]
    assert Tag.objects.filter(book=editor.personal_book).count() == 1


def test_system_categories_are_listed_in_a_book_and_read_only(client_for, editor, book):
    client = client_for(editor)
    listed = client.get(url(book, "categories"), {"is_system": "true"})
    assert "Groceries" in names(listed)
    groceries = Category.objects.get(book__isnull=True, name="Groceries")
    assert client.get(url(book, "categories", groceries.pk)).status_code == 200
    response = client.patch(url(book, "categories", groceries.pk), {"icon": "x"}, format="json")
    assert response.status_code == 403
    assert client.delete(url(book, "categories", groceries.pk)).status_code == 403


def test_names_are_unique_per_book(client_for, user, editor, book):
    CategoryFactory(user=editor, name="Pets")
    TagFactory(user=editor, name="pets")
    client = client_for(editor)
    # Another book's names do not block a book's…
    assert (
        client.post(url(book, "categories"), {"name": "Pets", "kind": "expense"}).status_code == 201
    )
    assert client.post(url(book, "tags"), {"name": "PETS"}).status_code == 201
    # …but within the book they are unique, whoever created the first one.
    owner = client_for(user)
    response = owner.post(url(book, "categories"), {"name": "pets", "kind": "expense"})
    assert response.status_code == 400 and "name" in response.json()
    assert owner.post(url(book, "tags"), {"name": "Pets"}).status_code == 400
    response = owner.post(url(book, "categories"), {"name": "groceries", "kind": "expense"})
    assert response.status_code == 400 and "system" in response.json()["name"][0]


# --- roles ------------------------------------------------------------------------------


@pytest.fixture
def book_rows(book, user):
    category = CategoryFactory(book=book, user=user, name="Shared category")
    tag = TagFactory(book=book, user=user, name="shared-tag")
    rule = RuleFactory(book=book, user=user, category=category, value="shared")
    return {"categories": category, "tags": tag, "rules": rule}


WRITES = {
    "categories": {"name": "Changed", "kind": "expense"},
    "tags": {"name": "changed"},
    "rules": {"name": "Changed", "value": "changed"},
}


@pytest.mark.parametrize("resource", ["categories", "tags", "rules"])
def test_viewer_reads_but_cannot_write(client_for, viewer, book, book_rows, resource):
    client = client_for(viewer)
    row = book_rows[resource]
    assert client.get(url(book, resource)).status_code == 200
    assert client.get(url(book, resource, row.pk)).status_code == 200
    body = dict(WRITES[resource])
    if resource == "rules":
        body["category"] = row.category_id
    assert client.post(url(book, resource), body, format="json").status_code == 403
    assert client.patch(url(book, resource, row.pk), body, format="json").status_code == 403
    assert client.put(url(book, resource, row.pk), body, format="json").status_code == 403
    assert client.delete(url(book, resource, row.pk)).status_code == 403
    row.refresh_from_db()
    assert row.name != "Changed" and row.name != "changed"
    assert type(row).objects.filter(book=book).count() == 1


def test_viewer_cannot_apply_rules_but_sees_a_run(client_for, user, viewer, book, settings):
    assert client_for(viewer).post(url(book, "rules/apply"), {}).status_code == 403
    run = RuleApplication.objects.create(book=book, user=user, status="done")
    response = client_for(viewer).get(url(book, "rules/apply", run.pk))
    assert response.status_code == 200 and response.json()["status"] == "done"


@pytest.mark.parametrize("resource", ["categories", "tags", "rules", "rules/apply"])
def test_a_non_member_gets_404_everywhere_in_the_book(client_for, book, book_rows, resource):
    stranger = client_for(UserFactory())
    row = (
        book_rows[resource]
        if resource != "rules/apply"
        else RuleApplication.objects.create(book=book, status="done")
    )
    before = type(row).objects.filter(book=book).count()
    assert stranger.get(url(book, resource)).status_code in (404, 405)
    assert stranger.get(url(book, resource, row.pk)).status_code == 404
    assert stranger.post(url(book, resource), {"name": "x"}, format="json").status_code == 404
    assert stranger.patch(url(book, resource, row.pk), {"name": "x"}).status_code in (404, 405)
    assert stranger.delete(url(book, resource, row.pk)).status_code in (404, 405)
    # …and top-level paths do not reach into the book either.
    if resource != "rules/apply":
        assert stranger.get(f"/api/v1/{resource}/{row.pk}/").status_code == 404
    assert type(row).objects.filter(book=book).count() == before


def test_an_unknown_book_is_404(auth_client):
    assert auth_client.get("/api/v1/books/999999/categories/").status_code == 404


# --- another book's ids -----------------------------------------------------------------


def test_another_books_category_in_a_body_is_400(client_for, editor, book):
    personal = CategoryFactory(user=editor, name="Personal only")
    client = client_for(editor)
    response = client.post(
        url(book, "rules"), {"name": "R", "value": "v", "category": personal.pk}, format="json"
    )
    assert response.status_code == 400 and "category" in response.json()
    response = client.post(
        url(book, "categories"), {"name": "Child", "kind": "expense", "parent": personal.pk}
    )
    assert response.status_code == 400 and "parent" in response.json()
    # The other way round: the book's category is unknown at the top level.
    shared = CategoryFactory(book=book, user=editor, name="Book only")
    response = client.post("/api/v1/rules/", {"name": "R", "value": "v", "category": shared.pk})
    assert response.status_code == 400 and "category" in response.json()
    assert not Rule.objects.exists()
    assert not Category.objects.filter(name="Child").exists()


def test_reassign_to_another_books_category_is_400(client_for, editor, book):
    doomed = CategoryFactory(book=book, user=editor, name="Doomed")
    expense(book, editor, category=doomed)
    personal = CategoryFactory(user=editor, name="Personal only")
    response = client_for(editor).delete(
        url(book, "categories", doomed.pk) + f"?reassign_to={personal.pk}"
    )
    assert response.status_code == 400 and "reassign_to" in response.json()
    assert Category.objects.filter(pk=doomed.pk).exists()


def test_reassign_in_a_book_moves_the_books_records_through_their_service(client_for, editor, book):
    doomed = CategoryFactory(book=book, user=editor, name="Doomed")
    target = CategoryFactory(book=book, user=editor, name="Target")
    rule = RuleFactory(book=book, user=editor, category=doomed)
    records = [expense(book, editor, category=doomed) for _ in range(2)]
    client = client_for(editor)
    assert client.delete(url(book, "categories", doomed.pk)).status_code == 409
    response = client.delete(url(book, "categories", doomed.pk) + f"?reassign_to={target.pk}")
    assert response.status_code == 204
    for record in records:
        record.refresh_from_db()
        assert record.category == target
    rule.refresh_from_db()
    assert rule.category == target


def test_reassigning_a_system_category_moves_every_books_records(
    admin_api, admin_member, user, book
):
    doomed = CategoryFactory(user=None, book=None, name="Old system")
    target = Category.objects.get(book__isnull=True, name="Groceries")
    shared = expense(book, user, category=doomed)
    personal = expense(user.personal_book, user, category=doomed)
    response = admin_api.delete(f"/api/v1/categories/{doomed.pk}/?reassign_to={target.pk}")
    assert response.status_code == 204
    for record in (shared, personal):
        record.refresh_from_db()
        assert record.category == target


# --- rules run per book -----------------------------------------------------------------


def test_rules_apply_in_a_book_touches_only_that_books_records(client_for, user, editor, book):
    coffee = CategoryFactory(book=book, user=user, name="Coffee")
    tag = TagFactory(book=book, user=user, name="caffeine")
    RuleFactory(book=book, user=user, value="coffee", category=coffee, add_tags=[tag])
    in_book = expense(book, editor, description="coffee beans")
    personal = expense(editor.personal_book, editor, description="coffee beans")

    response = client_for(editor).post(url(book, "rules/apply"), {}, format="json")
    assert response.status_code == 200
    assert response.json() == {"changed": 1, "expenses": 1, "incomes": 0}
    in_book.refresh_from_db()
    personal.refresh_from_db()
    assert in_book.category == coffee and list(in_book.tags.all()) == [tag]
    assert personal.category is None

    # The personal book has no rules: applying there changes nothing.
    response = client_for(editor).post("/api/v1/rules/apply/", {}, format="json")
    assert response.json() == {"changed": 0, "expenses": 0, "incomes": 0}


def test_a_queued_run_is_the_books_and_runs_its_rules(
    client_for, user, editor, book, settings, django_capture_on_commit_callbacks
):
    settings.RULES_APPLY_SYNC_MAX_RECORDS = 1
    coffee = CategoryFactory(book=book, user=user, name="Coffee")
    RuleFactory(book=book, user=user, value="coffee", category=coffee)
    records = [expense(book, editor, description="coffee") for _ in range(2)]
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(editor).post(url(book, "rules/apply"), {}, format="json")
    assert response.status_code == 202
    run = RuleApplication.objects.get(pk=response.json()["id"])
    assert (run.book_id, run.user_id, run.candidates) == (book.pk, editor.pk, 2)
    polled = client_for(user).get(url(book, "rules/apply", run.pk))  # any member polls
    assert polled.status_code == 200 and polled.json()["changed"] == 2
    assert client_for(user).get(f"/api/v1/rules/apply/{run.pk}/").status_code == 404
    for record in records:
        record.refresh_from_db()
        assert record.category == coffee


def test_a_books_rules_match_only_in_that_book(user, book):
    from categories import services

    coffee = CategoryFactory(book=book, user=user, name="Coffee")
    RuleFactory(book=book, user=user, value="coffee", category=coffee)
    found, _ = services.rules_match(book=book, kind=Kind.EXPENSE, description="coffee")
    assert found == coffee
    found, _ = services.rules_match(
        book=user.personal_book, kind=Kind.EXPENSE, description="coffee"
    )
    assert found is None
    # A rule pointing at another book's category never applies (not even if stored so).
    stray = CategoryFactory(user=user, name="Personal coffee")
    Rule.objects.filter(book=book).update(category=stray)
    assert len(services.rules_for(book=book)) == 0


def test_caps_count_per_book(client_for, user, editor, book, settings):
    settings.RULES_MAX_PER_USER = 1
    settings.TAGS_MAX_PER_USER = 1
    RuleFactory(user=editor)  # the personal book's rule does not count in the shared one
    TagFactory(user=editor)
    client = client_for(editor)
    category = CategoryFactory(book=book, user=user)
    body = {"name": "R", "value": "v", "category": category.pk}
    assert client.post(url(book, "rules"), body, format="json").status_code == 201
    response = client.post(url(book, "rules"), body, format="json")
    assert response.status_code == 409 and "at most 1 rules" in response.json()["detail"]
    assert client.post(url(book, "tags"), {"name": "one"}).status_code == 201
    assert client.post(url(book, "tags"), {"name": "two"}).status_code == 400


# --- query counts -----------------------------------------------------------------------


@pytest.mark.parametrize("resource", ["categories", "tags", "rules"])
def test_book_lists_keep_a_constant_query_count(client_for, user, editor, book, resource):
    client = client_for(editor)

    def add(count):
        for _ in range(count):
            if resource == "categories":
                parent = CategoryFactory(book=book, user=user)
                CategoryFactory(book=book, user=user, parent=parent)
            elif resource == "tags":
                TagFactory(book=book, user=user)
            else:
                tags = [TagFactory(book=book, user=user) for _ in range(2)]
                RuleFactory(book=book, user=user, add_tags=tags)

    add(1)
    with CaptureQueriesContext(connection) as one:
        assert client.get(url(book, resource)).status_code == 200
    add(9)
    with CaptureQueriesContext(connection) as ten:
        response = client.get(url(book, resource))
    assert response.status_code == 200
    assert len(ten) == len(one), [query["sql"] for query in ten.captured_queries]
