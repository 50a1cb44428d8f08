"""Budgets (SPEC §8): upsert, status arithmetic against hand-computed figures, alerts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from budgets.models import Budget
from categories.models import Category
from categories.tests.factories import CategoryFactory
from expenses.tests.factories import ExpenseFactory
from notifications.models import Notification
from tests.concurrency import require_postgresql, run_concurrently
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/budgets/"
STATUS = "/api/v1/budgets/status/"


def budget(user, month="2026-03", amount="100", scope="overall", category=None, **extra):
    year, mon = map(int, month.split("-"))
    return Budget.objects.create(
        user=user,
        month=date(year, mon, 1),
        scope=scope,
        category=category,
        amount=Decimal(amount),
        **extra,
    )


def spend(user, amount, day, category=None):
    return ExpenseFactory(user=user, amount=Decimal(amount), date=day, category=category)


def status(client, month="2026-03"):
    response = client.get(STATUS, {"month": month})
    assert response.status_code == 200, response.content
    return response.json()


# --- upsert and validation ------------------------------------------------------------


def test_post_creates_then_updates_the_same_key(auth_client, user):
    food = Category.objects.get(user__isnull=True, kind="expense", name="Food")
    first = auth_client.post(
        URL, {"month": "2026-03", "scope": "category", "category": food.id, "amount": "200"}
    )
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["month"] == "2026-03" and body["amount"] == "200.00"
    assert body["warn_threshold"] == "0.80" and body["rollover"] is False
    again = auth_client.post(
        URL,
        {"month": "2026-03-17", "scope": "category", "category": food.id, "amount": "250.5"},
    )
    assert again.status_code == 200
    assert again.json()["id"] == body["id"] and again.json()["amount"] == "250.50"
    overall = auth_client.post(URL, {"month": "2026-03", "scope": "overall", "amount": "900"})
    assert overall.status_code == 201
    assert (
        auth_client.post(URL, {"month": "2026-03", "scope": "overall", "amount": "950"}).status_code
        == 200
    )
    assert Budget.objects.filter(user=user).count() == 2


@pytest.mark.parametrize("scope", ["overall", "category"])
def test_database_rejects_a_second_budget_with_the_same_key(user, scope):
    category = CategoryFactory(user=user) if scope == "category" else None
    budget(user, scope=scope, category=category)
    with pytest.raises(IntegrityError), transaction.atomic():
        budget(user, scope=scope, category=category)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"scope": "category"}, "category"),
        ({"scope": "overall", "category": "SYSTEM_FOOD"}, "category"),
        ({"scope": "category", "category": "SALARY"}, "category"),
        ({"scope": "category", "category": "THEIRS"}, "category"),
        ({"scope": "weekly"}, "scope"),
        ({"scope": "overall", "amount": "0"}, "amount"),
        ({"scope": "overall", "amount": "10.001"}, "amount"),
        ({"scope": "overall", "warn_threshold": "0"}, "warn_threshold"),
        ({"scope": "overall", "warn_threshold": "1.5"}, "warn_threshold"),
        ({"scope": "overall", "month": "2026-13"}, "month"),
        ({"scope": "overall", "month": "March"}, "month"),
    ],
)
def test_bad_budgets_are_400_naming_the_field(auth_client, other_user, data, field):
    ids = {
        "SYSTEM_FOOD": Category.objects.get(user__isnull=True, kind="expense", name="Food").id,
        "SALARY": Category.objects.get(user__isnull=True, kind="income", name="Salary").id,
        "THEIRS": CategoryFactory(user=other_user).id,
    }
    body = {"month": "2026-03", "amount": "100", **data}
    if body.get("category") in ids:
        body["category"] = ids[body["category"]]
    response = auth_client.post(URL, body)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Budget.objects.count() == 0


def test_list_by_month_and_other_users_budgets_are_404(auth_client, user, other_user):
    mine = budget(user, month="2026-03")
    budget(user, month="2026-04")
    theirs = budget(other_user, month="2026-03")
    listed = auth_client.get(URL, {"month": "2026-03"}).json()
    assert [row["id"] for row in listed["results"]] == [mine.id]
    assert auth_client.get(URL, {"month": "2026-3x"}).status_code == 400
    for method in ("get", "patch", "delete"):
        assert getattr(auth_client, method)(f"{URL}{theirs.id}/").status_code == 404
    theirs.refresh_from_db()


def test_category_filter_takes_only_visible_categories(auth_client, user, other_user):
    own = CategoryFactory(user=user)
    foreign = CategoryFactory(user=other_user)
    mine = budget(user, scope="category", category=own)
    budget(other_user, scope="category", category=foreign)
    listed = auth_client.get(URL, {"category": own.id}).json()
    assert [row["id"] for row in listed["results"]] == [mine.id]
    # Another user's category is "not a valid choice", like in a body: never a silent empty list.
    response = auth_client.get(URL, {"category": foreign.id})
    assert response.status_code == 400
    assert "category" in response.json()


def test_patch_and_delete(auth_client, user):
    mine = budget(user)
    assert (
        auth_client.patch(f"{URL}{mine.id}/", {"amount": "120", "rollover": True}).status_code
        == 200
    )
    mine.refresh_from_db()
    assert mine.amount == Decimal("120") and mine.rollover is True
    other = budget(user, month="2026-04")
    clash = auth_client.patch(f"{URL}{other.id}/", {"month": "2026-03"})
    assert clash.status_code == 400
    assert auth_client.delete(f"{URL}{mine.id}/").status_code == 204


def test_copy_between_months(auth_client, user):
    food = CategoryFactory(user=user)
    budget(user, month="2026-03", amount="900")
    budget(user, month="2026-03", scope="category", category=food, amount="200", rollover=True)
    budget(user, month="2026-04", amount="1000")
    response = auth_client.post(f"{URL}copy/", {"from_month": "2026-03", "to_month": "2026-04"})
    assert response.json() == {"created": 1, "updated": 0, "skipped": 1}
    assert Budget.objects.get(user=user, month=date(2026, 4, 1), scope="overall").amount == 1000
    copied = Budget.objects.get(user=user, month=date(2026, 4, 1), scope="category")
    assert copied.amount == 200 and copied.rollover is True
    response = auth_client.post(
        f"{URL}copy/", {"from_month": "2026-03", "to_month": "2026-04", "overwrite": True}
    )
    assert response.json() == {"created": 0, "updated": 2, "skipped": 0}
    assert Budget.objects.get(user=user, month=date(2026, 4, 1), scope="overall").amount == 900
    bad = auth_client.post(f"{URL}copy/", {"from_month": "2026-03", "to_month": "2026-03"})
    assert bad.status_code == 400 and "to_month" in bad.json()


# --- status arithmetic ------------------------------------------------------------------


def test_month_with_no_expenses(auth_client, user):
    budget(user, amount="500")
    body = status(auth_client)
    assert body["month"] == "2026-03" and body["currency"] == "USD"
    assert body["start"] == "2026-03-01" and body["end"] == "2026-03-31"
    assert body["overall"] == {
        "budget": body["overall"]["budget"],
        "scope": "overall",
        "category": None,
        "category_name": None,
        "amount": "500.00",
        "rollover_in": "0.00",
        "available": "500.00",
        "spent": "0.00",
        "remaining": "500.00",
        "percent_used": "0.00",
        "status": "ok",
    }
    assert body["items"] == [] and body["unbudgeted_spent"] == "0.00"


def test_no_budgets_gives_null_overall(auth_client, user):
    spend(user, "12.34", date(2026, 3, 3))
    body = status(auth_client)
    assert body["overall"] is None and body["items"] == []
    assert body["unbudgeted_spent"] == "12.34"


@pytest.mark.parametrize(
    ("spent", "level", "remaining", "percent"),
    [
        ("79.99", "ok", "20.01", "79.99"),
        ("80.00", "warn", "20.00", "80.00"),
        ("99.99", "warn", "0.01", "99.99"),
        ("100.00", "exceeded", "0.00", "100.00"),
        ("100.01", "exceeded", "-0.01", "100.01"),
    ],
)
def test_threshold_edges(auth_client, user, spent, level, remaining, percent):
    budget(user, amount="100")
    spend(user, spent, date(2026, 3, 15))
    overall = status(auth_client)["overall"]
    assert (overall["status"], overall["remaining"], overall["percent_used"]) == (
        level,
        remaining,
        percent,
    )


def test_custom_warn_threshold(auth_client, user):
    budget(user, amount="200", warn_threshold=Decimal("0.5"))
    spend(user, "99.99", date(2026, 3, 1))
    assert status(auth_client)["overall"]["status"] == "ok"
    spend(user, "0.01", date(2026, 3, 2))
    assert status(auth_client)["overall"]["status"] == "warn"


def test_category_budget_counts_children_and_unbudgeted_includes_uncategorised(auth_client, user):
    food = CategoryFactory(user=user, name="Food2")
    coffee = CategoryFactory(user=user, name="Coffee2", parent=food)
    transport = CategoryFactory(user=user, name="Transport2")
    budget(user, scope="category", category=food, amount="200")
    budget(user, amount="1000")
    spend(user, "50.00", date(2026, 3, 2), food)
    spend(user, "30.00", date(2026, 3, 3), coffee)
    spend(user, "20.00", date(2026, 3, 4), transport)
    spend(user, "10.00", date(2026, 3, 5))
    spend(user, "999.00", date(2026, 4, 1), food)  # next month: not counted
    body = status(auth_client)
    (item,) = body["items"]
    assert item["category"] == food.id and item["category_name"] == "Food2"
    assert (item["spent"], item["remaining"], item["percent_used"]) == ("80.00", "120.00", "40.00")
    assert body["overall"]["spent"] == "110.00"
    assert body["unbudgeted_spent"] == "30.00"


def test_rollover_chains_across_three_months(auth_client, user):
    budget(user, month="2026-01", amount="100")
    budget(user, month="2026-02", amount="100", rollover=True)
    budget(user, month="2026-03", amount="100", rollover=True)
    spend(user, "60.00", date(2026, 1, 10))  # Jan unused 40
    spend(user, "70.00", date(2026, 2, 10))  # Feb available 140, unused 70
    spend(user, "10.00", date(2026, 3, 10))
    jan, feb, mar = (status(auth_client, m)["overall"] for m in ("2026-01", "2026-02", "2026-03"))
    assert (jan["rollover_in"], jan["available"]) == ("0.00", "100.00")
    assert (feb["rollover_in"], feb["available"], feb["remaining"]) == ("40.00", "140.00", "70.00")
    assert (mar["rollover_in"], mar["available"], mar["remaining"]) == ("70.00", "170.00", "160.00")


def test_overspent_month_breaks_the_rollover_chain(auth_client, user):
    budget(user, month="2026-01", amount="100")
    budget(user, month="2026-02", amount="100", rollover=True)
    budget(user, month="2026-03", amount="100", rollover=True)
    spend(user, "60.00", date(2026, 1, 10))  # Jan unused 40
    spend(user, "150.00", date(2026, 2, 10))  # Feb available 140, overspent
    feb, mar = status(auth_client, "2026-02")["overall"], status(auth_client, "2026-03")["overall"]
    assert (feb["available"], feb["remaining"], feb["status"]) == ("140.00", "-10.00", "exceeded")
    assert (mar["rollover_in"], mar["available"]) == ("0.00", "100.00")


def test_rollover_needs_consecutive_months_and_the_flag(auth_client, user):
    food = CategoryFactory(user=user)
    budget(user, month="2026-01", amount="100", scope="category", category=food)
    budget(user, month="2026-03", amount="100", scope="category", category=food, rollover=True)
    budget(user, month="2026-01", amount="100")
    budget(user, month="2026-02", amount="100")  # rollover off
    budget(user, month="2026-03", amount="100")  # rollover off: Feb's leftover ignored
    body = status(auth_client)
    assert body["items"][0]["rollover_in"] == "0.00"  # no February budget for food
    assert body["overall"]["rollover_in"] == "0.00"


def test_budget_months_follow_month_start_day(auth_client, user):
    user.month_start_day = 25
    user.save()
    budget(user, month="2026-03", amount="100")
    budget(user, month="2026-02", amount="100")
    spend(user, "24.00", date(2026, 3, 24))  # budget month 2026-02
    spend(user, "25.00", date(2026, 3, 25))  # budget month 2026-03
    spend(user, "1.00", date(2026, 4, 24))  # still budget month 2026-03
    march = status(auth_client, "2026-03")
    assert (march["start"], march["end"]) == ("2026-03-25", "2026-04-24")
    assert march["overall"]["spent"] == "26.00"
    assert status(auth_client, "2026-02")["overall"]["spent"] == "24.00"
    # a full date names the budget month containing it
    assert status(auth_client, "2026-04-10")["month"] == "2026-03"
    assert status(auth_client, "2026-03-24")["month"] == "2026-02"


def test_status_bad_month_is_400_and_default_is_current_month(auth_client, user):
    response = auth_client.get(STATUS, {"month": "2026-99"})
    assert response.status_code == 400 and "month" in response.json()
    from core.dates import user_today

    today = user_today(user)
    assert auth_client.get(STATUS).json()["month"] == f"{today.year:04d}-{today.month:02d}"


def test_status_never_counts_other_users_spending(auth_client, user, other_user):
    budget(user, amount="100")
    budget(other_user, amount="100")
    spend(other_user, "500.00", date(2026, 3, 3))
    spend(user, "1.00", date(2026, 3, 3))
    body = status(auth_client)
    assert body["overall"]["spent"] == "1.00" and body["unbudgeted_spent"] == "1.00"


def test_category_with_a_budget_cannot_be_deleted_without_reassigning(auth_client, user):
    food = CategoryFactory(user=user)
    budget(user, scope="category", category=food)
    assert auth_client.delete(f"/api/v1/categories/{food.id}/").status_code == 409
    assert Budget.objects.filter(category=food).exists()


# --- alerts ----------------------------------------------------------------------------------


def kinds(user):
    return list(
        Notification.objects.filter(user=user).order_by("id").values_list("kind", "dedupe_key")
    )


def test_expense_writes_notify_once_per_budget_level_and_month(auth_client, user):
    b = budget(user, amount="100")
    post = lambda amount, day="2026-03-10": auth_client.post(  # noqa: E731
        "/api/v1/expenses/", {"amount": amount, "date": day, "description": "x"}
    )
    assert post("50").status_code == 201
    assert kinds(user) == []
    post("30")  # 80: warn
    post("5")  # 85: still warn, no new alert
    assert kinds(user) == [("budget_warn", f"budget:{b.id}:2026-03:warn")]
    expense = post("1").json()
    auth_client.patch(f"/api/v1/expenses/{expense['id']}/", {"amount": "20"})  # 105: exceeded
    post("10")
    assert kinds(user) == [
        ("budget_warn", f"budget:{b.id}:2026-03:warn"),
        ("budget_exceeded", f"budget:{b.id}:2026-03:exceeded"),
    ]
    notification = Notification.objects.get(kind="budget_exceeded")
    # the alert captured the figures at the moment of crossing: 50 + 30 + 5 + 20
    assert notification.data["spent"] == "105.00" and notification.data["month"] == "2026-03"


def test_lowering_a_budget_notifies(auth_client, user):
    b = budget(user, amount="500")
    spend(user, "300.00", date(2026, 3, 3))
    assert kinds(user) == []
    auth_client.post(URL, {"month": "2026-03", "scope": "overall", "amount": "250"})
    assert kinds(user) == [("budget_exceeded", f"budget:{b.id}:2026-03:exceeded")]


def test_no_alert_without_a_budget_or_for_other_months(auth_client, user):
    budget(user, month="2026-04", amount="10")
    auth_client.post(
        "/api/v1/expenses/", {"amount": "50", "date": "2026-03-10", "description": "x"}
    )
    assert kinds(user) == []


# --- concurrency ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("where", ["personal book", "shared book, two members"])
def test_concurrent_upserts_leave_one_row(client_for, shared_book, where):
    require_postgresql()
    user = UserFactory()
    if where == "personal book":
        writers, url, book = [user], URL, user.personal_book
    else:
        editor = UserFactory()
        book = shared_book(owner=user, editors=[editor])
        writers, url = [user, editor], f"/api/v1/books/{book.pk}/budgets/"
    clients = [client_for(writer) for writer in writers]

    def post(i: int) -> int:
        response = clients[i % len(clients)].post(
            url, {"month": "2026-05", "scope": "overall", "amount": str(100 + i)}
        )
        return response.status_code

    results, errors = run_concurrently(post, threads=20)
    assert errors == []
    assert sorted(results).count(201) == 1 and sorted(results).count(200) == 19
    assert Budget.objects.filter(book=book).count() == 1
    assert Budget.objects.count() == 1
