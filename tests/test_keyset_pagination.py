"""Keyset pagination of the expense and income lists (exact walks, ties, both directions)."""

import base64
import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.pagination import KeysetPagination
from expenses.models import Expense
from tests.fuzz_depth import examples

pytestmark = pytest.mark.django_db
URL = "/api/v1/expenses/"


@pytest.fixture
def rows(user):
    # 3 rows per date and repeated amounts, so every ordering has many ties.
    objs = [
        Expense(
            book=user.personal_book,  # bulk_create does not fill it in
            user=user,
            amount=Decimal(1 + i % 4),
            currency="USD",
            base_amount=Decimal(1 + i % 4),
            exchange_rate=1,
            date=date(2026, 1, 1) + timedelta(days=i // 3),
            description=f"e{i}",
        )
        for i in range(47)
    ]
    Expense.objects.bulk_create(objs)
    return list(Expense.objects.filter(user=user))


def walk(client, url, link="next"):
    seen, pages = [], 0
    while url:
        body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body[link]
        pages += 1
    return seen, pages


@pytest.mark.parametrize(
    ("ordering", "key"),
    [
        ("", lambda e: (-e.date.toordinal(), -e.id)),
        ("amount", lambda e: (e.amount, e.id)),
        ("-amount", lambda e: (-e.amount, -e.id)),
        ("date", lambda e: (e.date, e.id)),
        ("-created_at", lambda e: (-e.created_at.timestamp(), -e.id)),
    ],
)
def test_walking_next_visits_every_row_once_in_order(auth_client, rows, ordering, key):
    url = f"{URL}?page_size=5" + (f"&ordering={ordering}" if ordering else "")
    seen, pages = walk(auth_client, url)
    assert seen == [e.id for e in sorted(rows, key=key)]
    assert pages == 10


def test_previous_links_walk_back_to_the_start(auth_client, rows):
    body = auth_client.get(f"{URL}?page_size=5&ordering=amount").json()
    assert body["previous"] is None
    pages = [body]
    while body["next"]:
        body = auth_client.get(body["next"]).json()
        pages.append(body)
    back = pages[-1]
    collected = [back["results"]]
    while back["previous"]:
        back = auth_client.get(back["previous"]).json()
        collected.insert(0, back["results"])
    assert len(collected) == len(pages)
    assert collected == [page["results"] for page in pages]


def test_filters_apply_across_pages_and_count_is_exact_below_the_cap(auth_client, rows):
    seen, _ = walk(auth_client, f"{URL}?page_size=4&min_amount=3")
    assert len(seen) == sum(1 for e in rows if e.amount >= 3)
    assert auth_client.get(f"{URL}?min_amount=3").json()["count"] == len(seen)


def test_count_is_capped(auth_client, rows, monkeypatch):
    monkeypatch.setattr(KeysetPagination, "count_cap", 10)
    body = auth_client.get(URL).json()
    assert body["count"] == 10 and len(body["results"]) == 47


@pytest.mark.parametrize("cursor", ["garbage", "eyJwIjpbXX0", "eyJwIjpbIngiLCIxIl0sInIiOmZhbHNlfQ"])
def test_bad_cursor_is_400(auth_client, rows, cursor):
    response = auth_client.get(URL, {"cursor": cursor})
    assert response.status_code == 400 and "cursor" in response.json()


def test_page_number_is_refused_with_a_hint(auth_client, rows):
    response = auth_client.get(URL, {"page": "2"})
    assert response.status_code == 400 and "cursor" in response.json()["page"][0]


def test_page_size_capped_at_500(auth_client, rows):
    assert len(auth_client.get(URL, {"page_size": "100000"}).json()["results"]) == 47


# --- crafted cursors (issue 11): any cursor is a page or a 400 naming `cursor` ------------


def _token(payload) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


CRAFTED = [
    _token(b"\xff\xfe junk"),
    _token(b"[" * 5000 + b"]" * 5000),
    _token([]),
    _token("p"),
    _token({"p": ["2026-01-01", "1"]}),
    _token({"p": ["2026-01-01", "1"], "r": "yes"}),
    _token({"p": ["2026-01-01", "1"], "r": False, "x": 1}),
    _token({"p": ["2026-01-01", str(2**64)], "r": False}),
    _token({"p": ["2026-01-01", "9" * 5000], "r": False}),
    _token({"p": ["2026-01-01", "-5"], "r": False}),
    _token({"p": ["2026-01-01", "0"], "r": False}),
    _token({"p": ["2026-01-01", 5], "r": False}),
    _token({"p": ["2026-01-01", None], "r": False}),
    _token({"p": ["2026-01-01", ["1"]], "r": False}),
    _token({"p": [{"a": 1}, "1"], "r": False}),
    _token({"p": ["10000-01-01", "1"], "r": False}),
    _token({"p": ["0000-01-01", "1"], "r": False}),
    _token({"p": ["2026-02-30", "1"], "r": False}),
    _token({"p": ["2026-1-1", "1"], "r": False}),
    _token({"p": ["2026-01-01", "1", "extra"], "r": False}),
    "!!!!",
    "é" * 10,
    "A" * 5000,
]
CRAFTED_BY_ORDERING = [
    ("amount", ["1e999999", "1"]),
    ("amount", ["NaN", "1"]),
    ("amount", ["1" * 40, "1"]),
    ("amount", ["123456789012345", "1"]),
    ("amount", ["0.00001", "1"]),
    ("amount", ["1_000", "1"]),
    ("-created_at", ["2026-01-01T00:00:00", "1"]),
    ("-created_at", ["0001-01-01T00:00:00+05:00", "1"]),
    ("-created_at", ["9999-12-31T23:59:59-05:00", "1"]),
    ("-created_at", ["2026-01-01T25:00:00+00:00", "1"]),
    ("-created_at", ["yesterday", "1"]),
]


@pytest.mark.parametrize("cursor", CRAFTED)
def test_crafted_cursor_is_400_naming_cursor(auth_client, rows, cursor):
    response = auth_client.get(URL, {"cursor": cursor})
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["cursor"]


@pytest.mark.parametrize(("ordering", "position"), CRAFTED_BY_ORDERING)
def test_crafted_cursor_values_for_each_ordering_are_400(auth_client, rows, ordering, position):
    cursor = _token({"p": position, "r": False})
    response = auth_client.get(URL, {"cursor": cursor, "ordering": ordering})
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["cursor"]


def test_a_cursor_made_by_the_server_still_works_for_incomes(auth_client, user):
    from income.tests.factories import IncomeFactory

    IncomeFactory.create_batch(3, user=user)
    first = auth_client.get("/api/v1/incomes/", {"page_size": 1, "ordering": "amount"}).json()
    second = auth_client.get(first["next"])
    assert second.status_code == 200 and len(second.json()["results"]) == 1


cursor_payloads = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["p", "r", "x"]), children, max_size=3)
    ),
    max_leaves=12,
)
cursors = st.one_of(
    st.text(max_size=80),
    st.binary(max_size=120).map(_token),
    cursor_payloads.map(_token),
    st.fixed_dictionaries(
        {
            "p": st.lists(
                st.one_of(
                    st.text(max_size=30),
                    st.dates().map(date.isoformat),
                    st.integers().map(str),
                    st.decimals(allow_nan=True, allow_infinity=True).map(str),
                    st.datetimes().map(datetime.isoformat),
                ),
                min_size=2,
                max_size=2,
            ),
            "r": st.booleans(),
        }
    ).map(_token),
)


@settings(
    max_examples=examples(150),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cursor=cursors, ordering=st.sampled_from(["", "amount", "-date", "created_at"]))
def test_any_cursor_is_a_page_or_a_400_never_a_500(auth_client, rows, cursor, ordering):
    query = {"cursor": cursor, **({"ordering": ordering} if ordering else {})}
    response = auth_client.get(URL, query)
    assert response.status_code in (200, 400), (cursor, response.content)
    body = response.json()
    if response.status_code == 400:
        assert "cursor" in body
    else:
        assert len(body["results"]) <= 50


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"page_size": "9" * 5000}, 200),
        ({"page_size": "1" + "0" * 30}, 200),
        ({"page_size": "-1"}, 400),
        ({"page_size": "0"}, 400),
        ({"page_size": "abc"}, 400),
        ({"page_size": "1.5"}, 400),
        ({"page_size": "\u0663"}, 400),  # ARABIC-INDIC DIGIT THREE: not an ASCII number
    ],
)
def test_odd_page_sizes_are_clamped_or_400(auth_client, rows, query, status):
    response = auth_client.get(URL, query)
    assert response.status_code == status, response.content
    if status == 400:
        assert list(response.json()) == ["page_size"]
    else:
        assert len(response.json()["results"]) == 47


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"page": "9" * 5000}, 404),
        ({"page": "-3"}, 400),
        ({"page": "0"}, 400),
        ({"page": "last"}, 400),
        ({"page": "\u0661"}, 400),
        ({"page_size": "9" * 5000}, 200),
        ({"page_size": "-1"}, 400),
    ],
)
def test_odd_page_numbers_on_page_numbered_lists_are_never_500(auth_client, query, status):
    response = auth_client.get("/api/v1/categories/", query)
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    if status == 400:
        assert list(response.json()) == list(query)
