"""Behaviour shared by /expenses/ and /incomes/ (SPEC §6, §7), tested on both."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from categories.models import Category
from categories.tests.factories import CategoryFactory
from core.serializers import READ_ONLY_FIELD, UNKNOWN_FIELD
from currencies.models import ExchangeRate
from expenses.models import Expense
from income.models import Income
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ENDPOINTS = {
    "expenses": {"model": Expense, "kind": "expense", "other_kind": "income", "text": "merchant"},
    "incomes": {"model": Income, "kind": "income", "other_kind": "expense", "text": "source"},
}


@pytest.fixture(params=list(ENDPOINTS))
def ep(request):
    name = request.param
    return {"url": f"/api/v1/{name}/", "name": name, **ENDPOINTS[name]}


def make(model, user, **kwargs):
    values = {
        "amount": Decimal("10.00"),
        "currency": user.base_currency,
        "base_amount": kwargs.get("amount", Decimal("10.00")),
        "exchange_rate": Decimal(1),
        "date": date(2026, 3, 10),
        "description": "thing",
    }
    values.update(kwargs)
    return model.objects.create(user=user, **values)


def post(client, ep, **data):
    body = {"amount": "12.50", "date": "2026-03-10", "description": "Lunch"}
    body.update(data)
    return client.post(ep["url"], body, format="json")


# --- create ---------------------------------------------------------------------


def test_create_minimal_defaults_to_base_currency(auth_client, user, ep):
    response = post(auth_client, ep)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["amount"] == "12.50"
    assert body["currency"] == "USD"
    assert body["base_amount"] == "12.50"
    assert Decimal(body["exchange_rate"]) == 1
    assert body["category"] is None and body["category_name"] is None
    assert body["tags"] == [] and body["receipt"] is None
    record = ep["model"].objects.get(pk=body["id"])
    assert record.user == user and record.base_amount == Decimal("12.50")


def test_amount_may_be_a_json_number(auth_client, ep):
    response = auth_client.post(
        ep["url"], {"amount": 12.5, "date": "2026-03-10", "description": "x"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["amount"] == "12.50"


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("0", None),
        ("-5", None),
        ("0.001", None),
        ("1000000000000", None),
        ("abc", None),
        ("NaN", None),
        ("Infinity", None),
        ("10.5", "JPY"),
        ("1.2345", "KWD"),
        ("", None),
    ],
)
def test_bad_amounts_are_400_and_store_nothing(auth_client, ep, amount, currency):
    data = {"amount": amount}
    if currency:
        data["currency"] = currency
    response = post(auth_client, ep, **data)
    assert response.status_code == 400, response.content
    assert "amount" in response.json()
    assert ep["model"].objects.count() == 0


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [("1500", "JPY", "1500"), ("1.25", "KWD", "1.250"), ("999999999999", "USD", "999999999999.00")],
)
def test_amounts_follow_currency_minor_units(auth_client, ep, amount, currency, shown):
    if currency != "USD":
        ExchangeRate.objects.create(
            base=currency, quote="USD", date=date(2026, 1, 1), rate=Decimal("2")
        )
    response = post(auth_client, ep, amount=amount, currency=currency)
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == shown


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("currency", "XYZ"),
        ("currency", "usd"),
        ("description", ""),
        ("description", "   "),
        ("description", "x" * 256),
        ("date", "2026-02-30"),
        ("date", "yesterday"),
        ("date", None),
    ],
)
def test_bad_fields_are_400_naming_the_field(auth_client, ep, field, value):
    response = post(auth_client, ep, **{field: value})
    assert response.status_code == 400
    assert field in response.json()
    assert ep["model"].objects.count() == 0


def test_description_is_trimmed(auth_client, ep):
    response = post(auth_client, ep, description="  Coffee  ")
    assert response.json()["description"] == "Coffee"


def test_read_only_and_unknown_fields_are_refused(auth_client, user, other_user, ep):
    response = post(
        auth_client,
        ep,
        base_amount="1.00",
        exchange_rate="9",
        id=424242,
        user=other_user.id,
        created_at="2000-01-01T00:00:00Z",
    )
    assert response.status_code == 400
    assert response.json() == {
        "base_amount": [READ_ONLY_FIELD],
        "exchange_rate": [READ_ONLY_FIELD],
        "id": [READ_ONLY_FIELD],
        "user": [UNKNOWN_FIELD],
        "created_at": [READ_ONLY_FIELD],
    }
    assert not ep["model"].objects.exists()


# --- categories and tags -------------------------------------------------------------


def test_category_must_be_visible_and_of_the_right_kind(auth_client, user, other_user, ep):
    mine = CategoryFactory(user=user, kind=ep["kind"])
    system = Category.objects.get(user__isnull=True, kind=ep["kind"], name="Other")
    theirs = CategoryFactory(user=other_user, kind=ep["kind"])
    wrong_kind = CategoryFactory(user=user, kind=ep["other_kind"])

    ok = post(auth_client, ep, category=mine.id)
    assert ok.status_code == 201 and ok.json()["category_name"] == mine.name
    assert post(auth_client, ep, category=system.id).status_code == 201
    for bad in (theirs.id, wrong_kind.id, 999999, "abc"):
        response = post(auth_client, ep, category=bad)
        assert response.status_code == 400, bad
        assert "category" in response.json()
    assert ep["model"].objects.count() == 2


def test_tags_are_created_by_name_and_reused_case_insensitively(auth_client, user, ep):
    first = post(auth_client, ep, tags=["Coffee", "work"])
    assert first.status_code == 201
    assert sorted(first.json()["tags"]) == ["Coffee", "work"]
    second = post(auth_client, ep, tags=["coffee"])
    assert second.json()["tags"] == ["Coffee"]
    from categories.models import Tag

    assert Tag.objects.filter(user=user).count() == 2
    assert post(auth_client, ep, tags=["  "]).status_code == 400


def test_rules_categorise_new_records_without_a_category(auth_client, user, ep):
    from categories.models import Rule, Tag

    category = CategoryFactory(user=user, kind=ep["kind"], name="Cafe")
    rule = Rule.objects.create(
        user=user,
        name="coffee",
        field="description",
        operator="contains",
        value="coffee",
        category=category,
    )
    rule.add_tags.add(Tag.objects.create(user=user, name="caffeine"))

    matched = post(auth_client, ep, description="Morning COFFEE")
    assert matched.json()["category"] == category.id
    assert matched.json()["tags"] == ["caffeine"]
    other = CategoryFactory(user=user, kind=ep["kind"])
    explicit = post(auth_client, ep, description="coffee beans", category=other.id)
    assert explicit.json()["category"] == other.id
    assert post(auth_client, ep, description="tea").json()["category"] is None


# --- currencies -------------------------------------------------------------------


def test_foreign_currency_uses_latest_rate_on_or_before_the_date(auth_client, ep):
    ExchangeRate.objects.create(base="EUR", quote="USD", date=date(2026, 3, 1), rate=Decimal("1.1"))
    ExchangeRate.objects.create(
        base="EUR", quote="USD", date=date(2026, 3, 20), rate=Decimal("1.5")
    )
    response = post(auth_client, ep, amount="10.00", currency="EUR", date="2026-03-10")
    assert response.status_code == 201
    body = response.json()
    assert body["base_amount"] == "11.00"
    assert Decimal(body["exchange_rate"]) == Decimal("1.1")

    moved = auth_client.patch(f"{ep['url']}{body['id']}/", {"date": "2026-03-25"}, format="json")
    assert moved.json()["base_amount"] == "15.00"


def test_missing_rate_is_400_naming_the_pair_and_stores_nothing(auth_client, ep):
    ExchangeRate.objects.create(
        base="EUR", quote="USD", date=date(2026, 3, 20), rate=Decimal("1.5")
    )
    response = post(auth_client, ep, currency="EUR", date="2026-03-10")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "rate_unavailable"
    assert "EUR" in body["detail"] and "USD" in body["detail"]
    assert ep["model"].objects.count() == 0


def test_changing_base_currency_recomputes_base_amounts(auth_client, user, ep):
    ExchangeRate.objects.create(
        base="EUR", quote="USD", date=date(2026, 1, 1), rate=Decimal("1.25")
    )
    record = ep["model"].objects.get(pk=post(auth_client, ep, amount="10.00").json()["id"])
    response = auth_client.patch("/api/v1/auth/me/", {"base_currency": "EUR"}, format="json")
    assert response.status_code == 200, response.content
    record.refresh_from_db()
    assert record.base_amount == Decimal("8.00")
    assert auth_client.get(f"{ep['url']}{record.id}/").json()["base_amount"] == "8.00"


def test_base_currency_change_without_rate_is_rejected_and_changes_nothing(auth_client, user, ep):
    record = ep["model"].objects.get(pk=post(auth_client, ep, amount="10.00").json()["id"])
    response = auth_client.patch("/api/v1/auth/me/", {"base_currency": "GBP"}, format="json")
    assert response.status_code == 400
    assert "GBP" in response.json()["detail"]
    user.refresh_from_db()
    record.refresh_from_db()
    assert user.base_currency == "USD" and record.base_amount == Decimal("10.00")


# --- isolation ----------------------------------------------------------------------


def test_other_users_records_are_404_everywhere(auth_client, other_user, ep):
    theirs = make(ep["model"], other_user)
    url = f"{ep['url']}{theirs.id}/"
    assert auth_client.get(url).status_code == 404
    assert (
        auth_client.put(
            url, {"amount": "1", "date": "2026-01-01", "description": "x"}, format="json"
        ).status_code
        == 404
    )
    assert auth_client.patch(url, {"amount": "1"}, format="json").status_code == 404
    assert auth_client.delete(url).status_code == 404
    assert auth_client.get(f"{url}receipt/").status_code == 404
    assert auth_client.get(ep["url"]).json()["count"] == 0
    theirs.refresh_from_db()
    assert theirs.amount == Decimal("10.00")


def test_unauthenticated_is_401(api_client, ep):
    assert api_client.get(ep["url"]).status_code == 401
    assert post(api_client, ep).status_code == 401


# --- update / delete -----------------------------------------------------------------


def test_put_patch_delete(auth_client, user, ep):
    created = post(auth_client, ep, tags=["a"]).json()
    url = f"{ep['url']}{created['id']}/"
    put = auth_client.put(
        url, {"amount": "20", "date": "2026-04-01", "description": "New"}, format="json"
    )
    assert put.status_code == 200
    assert put.json()["amount"] == "20.00" and put.json()["description"] == "New"
    patched = auth_client.patch(url, {"tags": ["b", "c"], "notes": "memo"}, format="json")
    assert sorted(patched.json()["tags"]) == ["b", "c"] and patched.json()["notes"] == "memo"
    bad = auth_client.patch(url, {"amount": "-1"}, format="json")
    assert bad.status_code == 400
    assert auth_client.get(url).json()["amount"] == "20.00"
    assert auth_client.delete(url).status_code == 204
    assert not ep["model"].objects.filter(pk=created["id"]).exists()


# --- filters, search, ordering ---------------------------------------------------------


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_date_and_month_filters(auth_client, user, ep):
    a = make(ep["model"], user, date=date(2026, 3, 24))
    b = make(ep["model"], user, date=date(2026, 3, 25))
    c = make(ep["model"], user, date=date(2026, 4, 24))
    url = ep["url"]
    assert ids(auth_client.get(url, {"start_date": "2026-03-25"})) == [c.id, b.id]
    assert ids(auth_client.get(url, {"end_date": "2026-03-25"})) == [b.id, a.id]
    assert ids(auth_client.get(url, {"month": "2026-03"})) == [b.id, a.id]
    user.month_start_day = 25
    user.save()
    assert ids(auth_client.get(url, {"month": "2026-03"})) == [c.id, b.id]
    # a full date means the budget month containing it: Mar 2 is in 2026-02 (Feb 25 – Mar 24)
    assert ids(auth_client.get(url, {"month": "2026-03-02"})) == [a.id]
    assert ids(auth_client.get(url, {"month": "2026-03-30"})) == [c.id, b.id]
    assert ids(auth_client.get(url, {"month": "2026-02"})) == [a.id]


def test_category_tag_amount_currency_and_search_filters(auth_client, user, ep):
    parent = CategoryFactory(user=user, kind=ep["kind"], name="Food")
    child = CategoryFactory(user=user, kind=ep["kind"], name="Coffee", parent=parent)
    other = CategoryFactory(user=user, kind=ep["kind"], name="Misc")
    a = make(ep["model"], user, category=parent, amount=Decimal("5.00"), description="bread")
    b = make(ep["model"], user, category=child, amount=Decimal("50.00"), notes="flat white")
    c = make(ep["model"], user, category=other, amount=Decimal("500.00"), currency="EUR")
    d = make(
        ep["model"], user, amount=Decimal("1.00"), description="uncat", **{ep["text"]: "ACME Corp"}
    )
    from categories.models import Tag

    b.tags.add(Tag.objects.create(user=user, name="Treat"))
    url = ep["url"]
    assert set(ids(auth_client.get(url, {"category": parent.id}))) == {a.id, b.id}
    assert set(ids(auth_client.get(url + f"?category={child.id}&category={other.id}"))) == {
        b.id,
        c.id,
    }
    assert ids(auth_client.get(url, {"uncategorized": "true"})) == [d.id]
    assert set(ids(auth_client.get(url, {"uncategorized": "false"}))) == {a.id, b.id, c.id}
    assert ids(auth_client.get(url, {"tag": "treat"})) == [b.id]
    assert set(ids(auth_client.get(url, {"min_amount": "10", "max_amount": "100"}))) == {b.id}
    assert ids(auth_client.get(url, {"currency": "EUR"})) == [c.id]
    assert ids(auth_client.get(url, {"search": "white"})) == [b.id]
    assert ids(auth_client.get(url, {"search": "acme"})) == [d.id]
    assert ids(auth_client.get(url, {ep["text"]: "acme"})) == [d.id]


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "2026-13-01"},
        {"end_date": "tomorrow"},
        {"start_date": "2026-03-10", "end_date": "2026-03-01"},
        {"month": "2026-13"},
        {"month": "March"},
        {"category": "abc"},
        {"category": "999999"},
        {"uncategorized": "maybe"},
        {"min_amount": "ten"},
        {"min_amount": "10", "max_amount": "5"},
        {"currency": "XYZ"},
        {"ordering": "description"},
        {"page_size": "0"},
        {"page": "abc"},
    ],
)
def test_bad_filter_values_are_400_naming_the_parameter(auth_client, ep, params):
    response = auth_client.get(ep["url"], params)
    assert response.status_code == 400, response.content
    body = response.json()
    named = set(params) & set(body)
    assert named, body


def test_filter_by_another_users_category_is_400(auth_client, other_user, ep):
    theirs = CategoryFactory(user=other_user, kind=ep["kind"])
    response = auth_client.get(ep["url"], {"category": theirs.id})
    assert response.status_code == 400 and "category" in response.json()


def test_ordering_default_and_explicit(auth_client, user, ep):
    a = make(ep["model"], user, date=date(2026, 1, 1), amount=Decimal("3"))
    b = make(ep["model"], user, date=date(2026, 1, 2), amount=Decimal("1"))
    c = make(ep["model"], user, date=date(2026, 1, 2), amount=Decimal("2"))
    assert ids(auth_client.get(ep["url"])) == [c.id, b.id, a.id]
    assert ids(auth_client.get(ep["url"], {"ordering": "amount"})) == [b.id, c.id, a.id]
    assert ids(auth_client.get(ep["url"], {"ordering": "-amount"})) == [a.id, c.id, b.id]
    assert ids(auth_client.get(ep["url"], {"ordering": "date"})) == [a.id, b.id, c.id]


def test_pagination_walks_with_next(auth_client, user, ep):
    for day in range(1, 6):
        make(ep["model"], user, date=date(2026, 1, day))
    seen, url = [], ep["url"] + "?page_size=2"
    while url:
        body = auth_client.get(url).json()
        assert body["count"] == 5
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == 5


def test_list_query_count_does_not_grow_with_rows(auth_client, user, ep):
    from categories.models import Tag

    tag = Tag.objects.create(user=user, name="t")

    def fill(n):
        for i in range(n):
            category = CategoryFactory(user=user, kind=ep["kind"])
            make(
                ep["model"], user, category=category, date=date(2026, 1, 1) + timedelta(days=i)
            ).tags.add(tag)

    fill(3)
    with CaptureQueriesContext(connection) as small:
        assert len(auth_client.get(ep["url"], {"page_size": 500}).json()["results"]) == 3
    fill(40)
    with CaptureQueriesContext(connection) as large:
        assert len(auth_client.get(ep["url"], {"page_size": 500}).json()["results"]) == 43
    assert len(large.captured_queries) == len(small.captured_queries)
    # Expenses also prefetch their split parts (SPEC §15): one query more.
    assert len(small.captured_queries) <= (6 if ep["model"].__name__ == "Expense" else 5)


# --- exact money --------------------------------------------------------------------------


def test_sums_are_exact_to_the_cent_over_thousands_of_rows(user, ep):
    model = ep["model"]
    book = user.personal_book  # bulk_create does not fill it in
    rows = []
    for i in range(3000):
        amount = Decimal("0.10") if i % 2 else Decimal("0.20")
        rows.append(
            model(
                book=book,
                user=user,
                amount=amount,
                currency="USD",
                base_amount=amount,
                exchange_rate=1,
                date=date(2026, 1, 1),
                description="x",
            )
        )
    model.objects.bulk_create(rows)
    assert model.objects.filter(user=user).aggregate(total=Sum("base_amount"))["total"] == Decimal(
        "450.00"
    )
    three = model.objects.filter(user=user)[:2]
    assert sum(r.base_amount for r in three) == Decimal("0.30")


def test_other_users_rows_never_counted(auth_client, user, other_user, ep):
    make(ep["model"], user)
    make(ep["model"], other_user)
    make(ep["model"], UserFactory())
    assert auth_client.get(ep["url"]).json()["count"] == 1


def test_category_id_beyond_the_integer_range_is_a_400(ep, auth_client):
    # Found by tests/test_contract.py: the id overflowed the database integer (500).
    huge = "-305525983431404184166989824"
    for url in (ep["url"], f"/api/v1/export/{ep['name']}.csv"):
        response = auth_client.get(url, {"category": huge})
        assert response.status_code == 400, url
        assert "category" in response.json()
