"""Expenses and income in books (SPEC §14): served under /books/{id}/, held by that book,
read by its viewers, written by its editors, invisible to everyone else, and figured in
the book's base currency and budget months. Tested on both ledgers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from categories.tests.factories import CategoryFactory, RuleFactory, TagFactory
from currencies.models import ExchangeRate
from expenses.models import Expense
from income.models import Income
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LEDGERS = {
    "expenses": {"model": Expense, "kind": "expense"},
    "incomes": {"model": Income, "kind": "income"},
}
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(params=list(LEDGERS))
def ep(request):
    return {"name": request.param, **LEDGERS[request.param]}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def world(user, client_for, shared_book):
    """`user` owns a shared book with an editor and a viewer; `stranger` is in none."""
    editor, viewer, stranger = UserFactory(), UserFactory(), UserFactory()
    book = shared_book(owner=user, editors=[editor], viewers=[viewer])
    return {
        "book": book,
        "owner": client_for(user),
        "editor_user": editor,
        "editor": client_for(editor),
        "viewer": client_for(viewer),
        "stranger": client_for(stranger),
    }


def book_url(book, ep, suffix=""):
    return f"/api/v1/books/{book.pk}/{ep['name']}/{suffix}"


def top_url(ep, suffix=""):
    return f"/api/v1/{ep['name']}/{suffix}"


def body(**extra):
    return {"amount": "12.50", "date": "2026-03-10", "description": "Lunch", **extra}


def record_in(book, ep, **fields):
    values = {
        "amount": Decimal("10.00"),
        "currency": book.base_currency,
        "base_amount": Decimal("10.00"),
        "date": date(2026, 3, 10),
        "description": "thing",
    }
    values.update(fields)
    return ep["model"].objects.create(book=book, **values)


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_an_editors_record_lands_in_the_book_and_not_in_a_personal_one(world, user, ep):
    book, editor = world["book"], world["editor"]
    created = editor.post(book_url(book, ep), body(tags=["shop"]), format="json")
    assert created.status_code == 201, created.content
    record = ep["model"].objects.get(pk=created.json()["id"])
    assert record.book == book and record.user == world["editor_user"]
    # The tag named in the body is the book's, not the editor's personal one.
    assert [(tag.book_id, tag.name) for tag in record.tags.all()] == [(book.pk, "shop")]

    personal = editor.post(top_url(ep), body(description="Mine"), format="json").json()
    assert ep["model"].objects.get(pk=personal["id"]).book == world["editor_user"].personal_book

    assert ids(editor.get(book_url(book, ep))) == {record.pk}
    assert ids(editor.get(top_url(ep))) == {personal["id"]}
    assert ids(world["owner"].get(book_url(book, ep))) == {record.pk}  # every member sees it
    assert ids(world["owner"].get(top_url(ep))) == set()
    assert editor.get(top_url(ep, f"{record.pk}/")).status_code == 404
    assert editor.get(book_url(book, ep, f"{personal['id']}/")).status_code == 404


def test_an_editor_changes_and_deletes_another_members_record(world, user, ep):
    book, editor = world["book"], world["editor"]
    record = record_in(book, ep, user=user)
    changed = editor.patch(
        book_url(book, ep, f"{record.pk}/"), {"description": "Fixed", "tags": ["t"]}, format="json"
    )
    assert changed.status_code == 200, changed.content
    record.refresh_from_db()
    assert record.description == "Fixed" and record.user == user  # the creator stays
    assert record.tags.get().book_id == book.pk
    assert editor.delete(book_url(book, ep, f"{record.pk}/")).status_code == 204
    assert not ep["model"].objects.filter(pk=record.pk).exists()


def test_a_viewer_reads_but_cannot_write(world, user, ep):
    book, viewer = world["book"], world["viewer"]
    record = record_in(book, ep, user=user)
    record.receipt.save("r.png", SimpleUploadedFile("r.png", PNG), save=True)
    detail = book_url(book, ep, f"{record.pk}/")
    assert ids(viewer.get(book_url(book, ep))) == {record.pk}
    assert viewer.get(detail).status_code == 200
    assert viewer.get(f"{detail}receipt/").status_code == 200
    refused = [
        viewer.post(book_url(book, ep), body(), format="json"),
        viewer.put(detail, body(), format="json"),
        viewer.patch(detail, {"description": "x"}, format="json"),
        viewer.delete(detail),
    ]
    assert [response.status_code for response in refused] == [403] * 4
    record.refresh_from_db()
    assert record.description == "thing"
    assert ep["model"].objects.filter(book=book).count() == 1


def test_a_non_member_gets_404_for_everything(world, user, ep):
    book, stranger = world["book"], world["stranger"]
    record = record_in(book, ep, user=user)
    record.receipt.save("r.png", SimpleUploadedFile("r.png", PNG), save=True)
    detail = book_url(book, ep, f"{record.pk}/")
    responses = [
        stranger.get(book_url(book, ep)),
        stranger.get(detail),
        stranger.get(f"{detail}receipt/"),
        stranger.post(book_url(book, ep), body(), format="json"),
        stranger.put(detail, body(), format="json"),
        stranger.patch(detail, {"description": "x"}, format="json"),
        stranger.delete(detail),
        # Nor through the top-level paths, which mean the stranger's own book.
        stranger.get(top_url(ep, f"{record.pk}/")),
        stranger.get(top_url(ep, f"{record.pk}/receipt/")),
        stranger.delete(top_url(ep, f"{record.pk}/")),
    ]
    assert [response.status_code for response in responses] == [404] * len(responses)
    assert ep["model"].objects.filter(book=book).count() == 1
    assert ep["model"].objects.get().description == "thing"


def test_categories_of_another_book_are_400_in_bodies_and_filters(world, user, ep):
    book, owner = world["book"], world["owner"]
    personal_category = CategoryFactory(user=user, kind=ep["kind"])
    book_category = CategoryFactory(user=user, book=book, kind=ep["kind"])
    system = CategoryFactory(user=None, kind=ep["kind"], name=f"System {ep['kind']}")

    into_book = owner.post(book_url(book, ep), body(category=personal_category.pk), format="json")
    assert into_book.status_code == 400 and "category" in into_book.json()
    into_personal = owner.post(top_url(ep), body(category=book_category.pk), format="json")
    assert into_personal.status_code == 400 and "category" in into_personal.json()
    record = record_in(book, ep, user=user)
    patched = owner.patch(
        book_url(book, ep, f"{record.pk}/"), {"category": personal_category.pk}, format="json"
    )
    assert patched.status_code == 400 and "category" in patched.json()
    assert ep["model"].objects.count() == 1

    for category in (book_category, system):
        ok = owner.post(book_url(book, ep), body(category=category.pk), format="json")
        assert ok.status_code == 201, ok.content
        assert ok.json()["category"] == category.pk

    bad_filter = owner.get(book_url(book, ep), {"category": personal_category.pk})
    assert bad_filter.status_code == 400 and "category" in bad_filter.json()
    assert owner.get(top_url(ep), {"category": book_category.pk}).status_code == 400
    assert len(ids(owner.get(book_url(book, ep), {"category": book_category.pk}))) == 1


def test_only_the_books_rules_categorise_its_records(world, user, ep):
    book, owner = world["book"], world["owner"]
    RuleFactory(user=user, value="coffee", category__kind=ep["kind"])  # personal book's
    shop_tag = TagFactory(user=user, book=book, name="beans")
    rule = RuleFactory(
        user=user, book=book, value="coffee", category__kind=ep["kind"], add_tags=[shop_tag]
    )
    created = owner.post(book_url(book, ep), body(description="Coffee"), format="json").json()
    assert created["category"] == rule.category_id
    assert created["tags"] == ["beans"]


def test_figures_are_in_the_books_base_currency_and_months(user, client_for, shared_book, ep):
    # The owner counts in USD, the book in EUR starting its months on the 15th.
    book = shared_book(owner=user, base_currency="EUR", month_start_day=15)
    client = client_for(user)
    ExchangeRate.objects.create(base="USD", quote="EUR", date=date(2026, 3, 1), rate=Decimal("0.5"))
    default = client.post(book_url(book, ep), body(amount="10.00"), format="json")
    assert default.status_code == 201, default.content
    assert default.json()["currency"] == "EUR"
    assert default.json()["base_amount"] == "10.00"

    foreign = client.post(book_url(book, ep), body(amount="9.00", currency="USD"), format="json")
    assert foreign.status_code == 201, foreign.content
    assert foreign.json()["base_amount"] == "4.50"
    assert Decimal(foreign.json()["exchange_rate"]) == Decimal("0.5")
    assert ep["model"].objects.get(pk=foreign.json()["id"]).base_amount == Decimal("4.50")

    # The book's budget month "2026-03" runs 15 March to 14 April.
    march_14 = record_in(book, ep, user=user, date=date(2026, 3, 14))
    march_15 = record_in(book, ep, user=user, date=date(2026, 3, 15))
    april_14 = record_in(book, ep, user=user, date=date(2026, 4, 14))
    assert ids(client.get(book_url(book, ep), {"month": "2026-03"})) == {march_15.pk, april_14.pk}
    assert march_14.pk in ids(client.get(book_url(book, ep), {"month": "2026-02"}))


def test_a_shared_books_receipt_url_is_under_the_book(world, ep):
    book, editor = world["book"], world["editor"]
    created = editor.post(
        book_url(book, ep),
        {**body(), "receipt": SimpleUploadedFile("r.png", PNG, content_type="image/png")},
        format="multipart",
    )
    assert created.status_code == 201, created.content
    url = created.json()["receipt"]
    assert url.endswith(book_url(book, ep, f"{created.json()['id']}/receipt/"))
    assert editor.get(url).status_code == 200
    assert world["viewer"].get(url).status_code == 200
    assert world["stranger"].get(url).status_code == 404


def test_list_query_count_is_constant_for_a_shared_book(world, user, ep):
    book, viewer = world["book"], world["viewer"]
    tag = TagFactory(user=user, book=book)

    def fill(n):
        for _ in range(n):
            category = CategoryFactory(user=user, book=book, kind=ep["kind"])
            record_in(book, ep, user=user, category=category).tags.add(tag)

    fill(1)
    with CaptureQueriesContext(connection) as one:
        assert len(ids(viewer.get(book_url(book, ep), {"page_size": 50}))) == 1
    fill(9)
    with CaptureQueriesContext(connection) as ten:
        assert len(ids(viewer.get(book_url(book, ep), {"page_size": 50}))) == 10
    assert len(ten.captured_queries) == len(one.captured_queries)
    assert len(one.captured_queries) <= 6
