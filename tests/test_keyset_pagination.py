"""Keyset pagination of the expense and income lists (exact walks, ties, both directions)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from core.pagination import KeysetPagination
from expenses.models import Expense

pytestmark = pytest.mark.django_db
URL = "/api/v1/expenses/"


@pytest.fixture
def rows(user):
    # 3 rows per date and repeated amounts, so every ordering has many ties.
    objs = [
        Expense(
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
