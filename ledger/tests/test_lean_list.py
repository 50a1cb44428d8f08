"""The list's lean read path (`ledger.serializers.LeanList`) writes exactly what the
serializer writes, byte for byte, on random records of both ledgers in personal and
shared books: amounts in currencies of 0–4 minor units, foreign currencies, nulls,
categories and suggestions, tags, receipts, split parts, timestamps; over pages and
orderings. Also: the constant queries of a list page, and the ledger's filter sets
(built once per class, skipped when no filter is asked)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection, transaction
from django.http import QueryDict
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.request import Request

from categories.models import Category, Kind, Tag
from categories.tests.factories import CategoryFactory
from core.filters import AbsentFiltersBackend, BuiltOnceFilterSet, names_any_filter
from expenses.filters import ExpenseFilter
from expenses.models import Expense, ExpenseShare, PaymentMethod, SplitMode
from expenses.views import ExpenseViewSet
from income.filters import IncomeFilter
from income.models import Income
from income.views import IncomeViewSet
from tests.fuzz_depth import examples
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LEDGERS = {
    "expenses": (Expense, ExpenseViewSet, Kind.EXPENSE),
    "incomes": (Income, IncomeViewSet, Kind.INCOME),
}
# 2, 0, 3 and 4 minor units, and a code no longer offered (formatted with 2).
CURRENCIES = ["USD", "EUR", "JPY", "BHD", "CLF", "ZZZ"]
TAG_NAMES = ["rent", "Ärger", "a", "zz top", "Kids", "b2"]
TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
)


def decimal_of(draw, places: int, low: int = 1, high: int = 10**9) -> Decimal:
    return Decimal(draw(st.integers(low, high))).scaleb(-places)


def moment(draw) -> datetime:
    start = datetime(2001, 1, 1, tzinfo=UTC)
    micro = draw(st.sampled_from([0, draw(st.integers(1, 999_999))]))
    return start + timedelta(seconds=draw(st.integers(0, 30 * 365 * 86400)), microseconds=micro)


def fill(draw, *, ledger: str, book, user, members) -> None:
    """Random records in `book` (with tags, categories, receipts, splits)."""
    model, _, kind = LEDGERS[ledger]
    own = [CategoryFactory(user=user, book=book, kind=kind) for _ in range(2)]
    system = list(Category.objects.filter(book__isnull=True, kind=kind)[:2])
    categories = [None, *own, *system]
    tags = [Tag.objects.create(user=user, book=book, name=name) for name in TAG_NAMES]
    for _ in range(draw(st.integers(0, 9))):
        currency = draw(st.sampled_from(CURRENCIES))
        values = {
            "amount": decimal_of(draw, draw(st.integers(0, 4))),
            "currency": currency,
            "base_amount": decimal_of(draw, draw(st.integers(0, 4)), low=0),
            "exchange_rate": decimal_of(draw, 12, high=10**15),
            "date": draw(st.dates(date(2000, 1, 1), date(2030, 12, 31))),
            "description": draw(TEXT.filter(bool)),
            "notes": draw(TEXT),
            "category": draw(st.sampled_from(categories)),
            "receipt": draw(st.sampled_from(["", f"receipts/{ledger}/0a1b2c.png"])),
        }
        suggested = draw(st.sampled_from(categories))
        if suggested is not None:
            values["suggested_category"] = suggested
            values["suggested_confidence"] = draw(
                st.sampled_from([None, decimal_of(draw, 3, low=0, high=1000)])
            )
        if model is Expense:
            values["payment_method"] = draw(st.sampled_from(PaymentMethod.values))
            values["merchant"] = draw(TEXT)
        else:
            values["source"] = draw(TEXT)
        record = model.objects.create(book=book, user=user, **values)
        record.tags.set(draw(st.lists(st.sampled_from(tags), unique=True, max_size=4)))
        model.objects.filter(pk=record.pk).update(created_at=moment(draw), updated_at=moment(draw))
        if model is Expense and not book.is_personal and draw(st.booleans()):
            mode = draw(st.sampled_from(SplitMode.values))
            people = draw(
                st.lists(st.sampled_from([*members, None]), unique=True, min_size=1, max_size=4)
            )
            for person in people:
                ExpenseShare.objects.create(
                    expense=record,
                    book=book,
                    user=person,
                    value=decimal_of(draw, draw(st.integers(0, 6)), low=0),
                    amount=decimal_of(draw, 4, low=0),
                    base_amount=decimal_of(draw, 4, low=0),
                )
            Expense.objects.filter(pk=record.pk).update(
                split_mode=mode, paid_by=draw(st.sampled_from([None, *members]))
            )


def both_ways(client, url: str, viewset, params: dict) -> tuple[bytes, bytes]:
    lean = client.get(url, params)
    with mock.patch.object(viewset, "lean_list_class", None):
        standard = client.get(url, params)
    assert lean.status_code == standard.status_code == 200, lean.content[:300]
    return lean.content, standard.content


@pytest.mark.parametrize("ledger", list(LEDGERS))
@hypothesis_settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_lean_pages_are_the_serializers_byte_for_byte(ledger, data, user, client_for, shared_book):
    draw = data.draw
    _, viewset, _ = LEDGERS[ledger]
    with transaction.atomic():
        members = [user, UserFactory(), UserFactory()]
        if draw(st.booleans(), label="shared book"):
            book = shared_book(
                owner=user,
                editors=members[1:],
                base_currency=draw(st.sampled_from(CURRENCIES[:5])),
            )
            url = f"/api/v1/books/{book.pk}/{ledger}/"
        else:
            book = user.personal_book
            url = f"/api/v1/{ledger}/"
        fill(draw, ledger=ledger, book=book, user=user, members=members)
        params = {"page_size": draw(st.integers(1, 6))}
        ordering = draw(st.sampled_from(["", "amount", "-created_at", "date", "-amount"]))
        if ordering:
            params["ordering"] = ordering
        client = client_for(user)
        lean, standard = both_ways(client, url, viewset, params)
        assert lean == standard
        # The next page, through the cursor the first one gave.
        following = client.get(url, params).json()["next"]
        if following:
            lean, standard = both_ways(client, following, viewset, {})
            assert lean == standard
        transaction.set_rollback(True)


@pytest.mark.parametrize("ledger", list(LEDGERS))
def test_a_filtered_searched_page_is_the_serializers_too(ledger, user, auth_client):
    model, viewset, kind = LEDGERS[ledger]
    category = CategoryFactory(user=user, kind=kind)
    tag = Tag.objects.create(user=user, book=user.personal_book, name="trip")
    for day in range(1, 8):
        record = model.objects.create(
            book=user.personal_book,
            user=user,
            amount=Decimal(day),
            currency="EUR",
            base_amount=Decimal(day) * 2,
            exchange_rate=Decimal(2),
            date=date(2026, 3, day),
            description=f"Train {day}",
            category=category if day % 2 else None,
        )
        if day % 3 == 0:
            record.tags.add(tag)
    params = {"month": "2026-03", "search": "train", "min_amount": "2", "page_size": 3}
    lean, standard = both_ways(auth_client, f"/api/v1/{ledger}/", viewset, params)
    assert lean == standard
    assert b'"count":6' in lean.replace(b" ", b"")


# --- queries ---------------------------------------------------------------------------


def listed(client, url: str) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"page_size": 100})
    assert response.status_code == 200
    return len(response.json()["results"]), [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize("ledger", list(LEDGERS))
def test_a_page_of_5_or_50_records_takes_the_same_five_queries(ledger, user, auth_client):
    model, _, kind = LEDGERS[ledger]
    tags = [Tag.objects.create(user=user, book=user.personal_book, name=f"t{i}") for i in range(3)]

    def add(n: int) -> None:
        for i in range(n):
            record = model.objects.create(
                book=user.personal_book,
                user=user,
                amount=Decimal("9.99"),
                currency="USD",
                base_amount=Decimal("9.99"),
                date=date(2026, 1, 1) + timedelta(days=i),
                description="x",
                category=CategoryFactory(user=user, kind=kind),
                suggested_category=CategoryFactory(user=user, kind=kind),
                receipt="receipts/x/y.png",
            )
            record.tags.set(tags[: i % 4])

    add(5)
    five, small = listed(auth_client, f"/api/v1/{ledger}/")
    add(45)
    fifty, large = listed(auth_client, f"/api/v1/{ledger}/")
    assert (five, fifty) == (5, 50)
    # The user (JWT), the book and membership, the capped count, the page (both
    # categories' names joined), the page's tags.
    assert len(small) == len(large) == 5, "\n".join(large)


def test_a_shared_books_split_page_takes_one_query_more(user, client_for, shared_book):
    other = UserFactory()
    book = shared_book(owner=user, editors=[other])
    for i in range(30):
        expense = Expense.objects.create(
            book=book,
            user=user,
            amount=Decimal("10.00"),
            currency="EUR",
            base_amount=Decimal("10.00"),
            date=date(2026, 1, 1) + timedelta(days=i),
            description="dinner",
            split_mode=SplitMode.EQUAL,
            paid_by=user,
        )
        for person in (user, other):
            ExpenseShare.objects.create(
                expense=expense,
                book=book,
                user=person,
                value=1,
                amount=Decimal(5),
                base_amount=Decimal(5),
            )
    count, queries = listed(client_for(user), f"/api/v1/books/{book.pk}/expenses/")
    assert count == 30
    assert len(queries) == 6, "\n".join(queries)


# --- filter sets -------------------------------------------------------------------------


def drf_request(user, query: str = ""):
    request = Request(RequestFactory().get(f"/api/v1/expenses/?{query}"))
    request.book = user.personal_book
    return request


@pytest.mark.parametrize("filterset_class", [ExpenseFilter, IncomeFilter])
def test_every_ledger_filter_leaves_the_list_alone_when_absent(filterset_class, user):
    """What `absent_is_noop` promises, and so what lets AbsentFiltersBackend skip them."""
    assert filterset_class.absent_is_noop
    queryset = filterset_class._meta.model.objects.filter(book=user.personal_book)
    request = drf_request(user, "page_size=3&cursor=x&ordering=amount&search=a")
    filterset = filterset_class(data=request.query_params, queryset=queryset, request=request)
    assert filterset.is_valid()
    assert str(filterset.qs.query) == str(queryset.all().query)
    assert not names_any_filter(request.query_params, filterset_class)


def test_a_list_without_filter_parameters_builds_no_filter_set(user, auth_client):
    built = mock.patch.object(
        ExpenseFilter, "__init__", autospec=True, side_effect=BuiltOnceFilterSet.__init__
    )
    with built as init:
        assert auth_client.get("/api/v1/expenses/", {"ordering": "amount"}).status_code == 200
        assert init.call_count == 0
        assert auth_client.get("/api/v1/expenses/", {"month": "2026-03"}).status_code == 200
        assert init.call_count == 1
    backend = AbsentFiltersBackend()
    view = ExpenseViewSet()
    request = drf_request(user, "merchant=abc")
    queryset = Expense.objects.filter(book=user.personal_book)
    assert "merchant" in str(backend.filter_queryset(request, queryset, view).query).lower()


def test_the_form_class_is_built_once_and_choices_are_each_requests(user, other_user):
    """One form class for every request, but each request's `category` choices are its
    own book's: another book's category is not a valid choice."""
    assert issubclass(ExpenseFilter, BuiltOnceFilterSet)
    mine = CategoryFactory(user=user)
    theirs = CategoryFactory(user=other_user)
    forms = []
    for owner, category, valid in ((user, theirs, False), (other_user, theirs, True)):
        request = drf_request(owner, f"category={category.pk}")
        filterset = ExpenseFilter(
            data=request.query_params, queryset=Expense.objects.all(), request=request
        )
        assert filterset.is_valid() is valid
        forms.append(type(filterset.form))
        # Each request's filters are its own copies, bound to its filter set.
        assert all(f.parent is filterset for f in filterset.filters.values())
        assert filterset.filters["tag"].filter.f is filterset.filters["tag"]
    assert forms[0] is forms[1]
    assert ExpenseFilter.base_filters["tag"].filter.f is ExpenseFilter.base_filters["tag"]
    request = drf_request(user, f"category={mine.pk}")
    filterset = ExpenseFilter(
        data=request.query_params, queryset=Expense.objects.all(), request=request
    )
    assert filterset.is_valid()


def test_no_category_is_an_empty_list_not_a_queryset(user):
    request = drf_request(user)
    filterset = ExpenseFilter(data=QueryDict(), queryset=Expense.objects.all(), request=request)
    assert filterset.is_valid()
    assert filterset.form.cleaned_data["category"] == []
