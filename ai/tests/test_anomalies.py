"""Unusual spending (SPEC §16): each detector on crafted histories, the ordinary left
alone, the API per book and role, and notifications told once (one summary per import)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ai import anomalies
from ai.anomalies import Reason
from ai.models import Anomaly
from categories.tests.factories import CategoryFactory
from expenses.models import Expense
from expenses.services import expense_create, expenses_bulk_import
from expenses.tests.factories import ExpenseFactory
from imports.models import ImportBatch
from notifications.models import Notification, NotificationKind
from notifications.services import preferences_update
from recurring.models import RecurringItem, RecurringOccurrence
from users.tests.factories import UserFactory

URL = "/api/v1/ai/anomalies/"
MARCH = (2026, 3)


def spend(user, amount, day, *, merchant="", description="", book=None, category=None):
    return ExpenseFactory(
        user=user,
        book=book or user.personal_book,
        amount=Decimal(str(amount)),
        date=day,
        merchant=merchant,
        description=description or merchant or "Something",
        category=category,
    )


def cafe_history(user, *, count=8, book=None):
    """`count` ordinary Harbor Cafe charges of 10-13 in January and February 2026."""
    for i in range(count):
        spend(
            user,
            10 + i % 4,
            date(2026, 1, 5) + timedelta(days=6 * i),
            merchant="Harbor Cafe",
            book=book,
        )


def varied_history(user, *, count=30, book=None):
    """`count` ordinary expenses of 10-49 at a dozen merchants, Nov 2025 - Feb 2026."""
    for i in range(count):
        spend(
            user,
            10 + (i * 7) % 40,
            date(2025, 11, 1) + timedelta(days=3 * i),
            merchant=f"Shop {i % 12}",
            book=book,
        )


def found(book, year=2026, month=3):
    return {
        (f.subject_id, f.reason_code)
        for f in anomalies.detect_expense_anomalies(book=book, year=year, month=month)
    }


# --- merchant spikes ---------------------------------------------------------------------------


def test_a_charge_three_times_the_merchants_usual_is_flagged(user):
    cafe_history(user)
    usual = spend(user, 12, date(2026, 3, 2), merchant="Harbor Cafe")
    big = spend(user, "34.50", date(2026, 3, 9), merchant="harbor cafe")  # case does not matter
    [finding] = anomalies.detect_expense_anomalies(book=user.personal_book, year=2026, month=3)
    assert (finding.subject_id, finding.reason_code) == (big.pk, Reason.MERCHANT_SPIKE)
    assert finding.reason.startswith("Three times the usual amount for harbor cafe: 34.50 USD")
    assert "typical 11.50 USD over 8 earlier charges" in finding.reason
    assert finding.expected == Decimal("11.50") and finding.score >= anomalies.MERCHANT_Z
    assert usual.pk not in {f.subject_id for f in [finding]}


def test_a_merchant_with_too_little_history_or_a_wide_spread_is_left_alone(user):
    cafe_history(user, count=3)
    spend(user, 60, date(2026, 3, 9), merchant="Harbor Cafe")
    for i, amount in enumerate([20, 200, 45, 150, 80, 30, 120, 60]):  # groceries vary a lot
        spend(user, amount, date(2026, 1, 3) + timedelta(days=5 * i), merchant="Big Market")
    spend(user, 190, date(2026, 3, 10), merchant="Big Market")
    assert found(user.personal_book) == set()


def test_a_fixed_charge_that_rises_a_little_is_not_unusual(user):
    for i in range(6):
        spend(user, "9.99", date(2025, 10, 1) + timedelta(days=30 * i), merchant="StreamFlix")
    spend(user, "12.99", date(2026, 3, 1), merchant="StreamFlix")
    assert found(user.personal_book) == set()


# 14 charges at a shop whose amounts vary a lot (robust log spread 0.58: median 46, at most
# 100): a 150 charge is 3.3 times the median but only 2 robust deviations above it on a log
# scale, so the z-test alone lets it pass.
VARYING = [20, 26, 30, 36, 40, 44, 48, 55, 62, 72, 85, 100, 28, 66]


def home_goods(user, amounts):
    for i, amount in enumerate(amounts):
        spend(user, amount, date(2025, 12, 1) + timedelta(days=6 * i), merchant="Home Goods")


def test_a_record_three_times_the_median_at_a_varying_merchant_is_flagged(user):
    home_goods(user, VARYING)
    big = spend(user, 150, date(2026, 3, 9), merchant="Home Goods")
    spend(user, 90, date(2026, 3, 12), merchant="Home Goods")  # within its range: ordinary
    [finding] = anomalies.detect_expense_anomalies(book=user.personal_book, year=2026, month=3)
    assert (finding.subject_id, finding.reason_code) == (big.pk, Reason.MERCHANT_SPIKE)
    assert finding.score < anomalies.MERCHANT_Z  # found by the record rule, not the z-test
    assert finding.data == {"ratio": 3.26, "history": 14, "largest_before": "100.00"}
    assert finding.reason == (
        "3.3 times the usual amount for Home Goods: 150.00 USD against a typical 46.00 USD "
        "over 14 earlier charges (the largest 100.00 USD)."
    )


@pytest.mark.parametrize(
    ("history", "amount", "why"),
    [
        (VARYING[:11], 150, "too few earlier charges to call it a record"),
        ([*VARYING, 155], 150, "not above the largest earlier charge"),
        (VARYING, 130, "under three times the median"),
        ([8, 20, 45, 120, 15, 60, 30, 200, 12, 90, 25, 70], 250, "amounts vary too widely"),
    ],
)
def test_the_record_rule_needs_history_a_record_three_times_and_a_moderate_spread(
    user, history, amount, why
):
    home_goods(user, history)
    spend(user, amount, date(2026, 3, 9), merchant="Home Goods")
    assert found(user.personal_book) == set(), why


# --- new merchants ------------------------------------------------------------------------------


def test_a_new_merchant_with_a_large_charge_is_flagged_a_small_one_is_not(user):
    varied_history(user)
    large = spend(user, 900, date(2026, 3, 4), merchant="Apple Store")
    spend(user, 12, date(2026, 3, 5), merchant="Corner Bakery")
    again = spend(user, 950, date(2026, 3, 20), merchant="Apple Store")  # no longer new
    findings = anomalies.detect_expense_anomalies(book=user.personal_book, year=2026, month=3)
    assert [(f.subject_id, f.reason_code) for f in findings] == [(large.pk, Reason.NEW_MERCHANT)]
    assert findings[0].reason.startswith(
        "A new merchant with a large charge: 900.00 USD at Apple Store"
    )
    assert again.pk not in {f.subject_id for f in findings}


def test_a_new_merchant_is_not_flagged_in_a_book_with_little_history(user):
    varied_history(user, count=10)
    spend(user, 900, date(2026, 3, 4), merchant="Apple Store")
    assert found(user.personal_book) == set()


# --- duplicates ---------------------------------------------------------------------------------


def test_the_same_charge_twice_within_two_days_is_a_possible_duplicate(user):
    first = spend(user, "25.50", date(2026, 3, 5), merchant="Pizza Place")
    second = spend(user, "25.50", date(2026, 3, 7), merchant="Pizza Place")
    spend(user, "25.50", date(2026, 3, 12), merchant="Pizza Place")  # five days later: fine
    spend(user, "25.60", date(2026, 3, 13), merchant="Pizza Place")  # another amount
    [finding] = anomalies.detect_expense_anomalies(book=user.personal_book, year=2026, month=3)
    assert (finding.subject_id, finding.reason_code) == (second.pk, Reason.DUPLICATE)
    assert finding.data == {"duplicate_of": first.pk, "duplicate_of_date": "2026-03-05"}
    assert finding.reason == (
        "Possible duplicate: the same 25.50 USD at Pizza Place was charged on 2026-03-05."
    )


def test_a_duplicate_across_the_month_boundary_is_found(user):
    spend(user, 40, date(2026, 2, 28), merchant="Gym")
    late = spend(user, 40, date(2026, 3, 1), merchant="Gym")
    assert found(user.personal_book) == {(late.pk, Reason.DUPLICATE)}


def test_charges_made_by_a_recurring_item_are_not_duplicates(user):
    item = RecurringItem.objects.create(
        book=user.personal_book,
        user=user,
        kind="expense",
        amount=Decimal("15.00"),
        currency="USD",
        description="Parking",
        merchant="City Parking",
        frequency="daily",
        start_date=date(2026, 3, 1),
    )
    for day in (date(2026, 3, 1), date(2026, 3, 2)):
        expense = spend(user, 15, day, merchant="City Parking")
        RecurringOccurrence.objects.create(item=item, date=day, expense=expense)
    assert found(user.personal_book) == set()


def daily(user, merchant, prices, first, last):
    """One charge a day at `merchant` from `first` to `last`, cycling through `prices`."""
    for i in range((last - first).days + 1):
        spend(user, prices[i % len(prices)], first + timedelta(days=i), merchant=merchant)


@pytest.mark.parametrize(
    ("merchant", "prices", "amount"),
    [("Metro Transit", ["2.75"], "2.75"), ("Daily Grind", ["3.50", "4.20"], "3.50")],
)
def test_an_amount_that_repeats_by_nature_is_not_a_duplicate(user, merchant, prices, amount):
    """A fare taken most days, a café's menu price: the same amount days apart is normal
    where the history already repeats it (here every day or every other day)."""
    daily(user, merchant, prices, date(2026, 2, 1), date(2026, 2, 20))
    spend(user, amount, date(2026, 3, 3), merchant=merchant)
    spend(user, amount, date(2026, 3, 3), merchant=merchant)
    spend(user, amount, date(2026, 3, 4), merchant=merchant)
    first = spend(user, "18.00", date(2026, 3, 5), merchant="Pizza Place")
    again = spend(user, "18.00", date(2026, 3, 5), merchant="Pizza Place")
    findings = anomalies.detect_expense_anomalies(book=user.personal_book, year=2026, month=3)
    duplicates = [f for f in findings if f.reason_code == Reason.DUPLICATE]
    assert [(f.subject_id, f.data["duplicate_of"]) for f in duplicates] == [(again.pk, first.pk)]


def rent(user, months):
    for year, month in months:
        spend(user, 1800, date(year, month, 1), merchant="Parkside Properties")


def test_a_monthly_amount_charged_twice_is_still_a_duplicate(user):
    """A rent repeats its amount every month, never days apart: a second one is news."""
    rent(user, months_before(*MARCH, 12))
    spend(user, 1800, date(2026, 3, 1), merchant="Parkside Properties")
    double = spend(user, 1800, date(2026, 3, 2), merchant="Parkside Properties")
    assert found(user.personal_book) == {(double.pk, Reason.DUPLICATE)}


@pytest.mark.parametrize(("earlier_repeats", "flagged"), [(1, True), (2, False)])
def test_an_amount_is_habitual_from_two_earlier_repeats_within_two_days(
    user, earlier_repeats, flagged
):
    """One earlier double charge (a mistake, say) does not make an amount habitual; two do
    (`DUPLICATE_HABIT_REPEATS`). Repeats in the month before the pair count too."""
    rent(user, [*months_before(*MARCH, 6), MARCH])
    for day in [date(2025, 12, 2), date(2026, 3, 2)][:earlier_repeats]:
        spend(user, 1800, day, merchant="Parkside Properties")
    spend(user, 1800, date(2026, 3, 20), merchant="Parkside Properties")
    later = spend(user, 1800, date(2026, 3, 21), merchant="Parkside Properties")
    assert ((later.pk, Reason.DUPLICATE) in found(user.personal_book)) is flagged


# --- categories ---------------------------------------------------------------------------------


def monthly(user, category, amounts_by_month):
    for (year, month), amount in amounts_by_month.items():
        spend(user, amount, date(year, month, 10), category=category, description="Shopping")


def months_before(year, month, count):
    from core.dates import add_months

    return [add_months(year, month, -i) for i in range(count, 0, -1)]


def test_a_category_far_above_its_typical_month_is_flagged(user):
    groceries = CategoryFactory(user=user, name="Groceries")
    steady = CategoryFactory(user=user, name="Transport")
    history = months_before(*MARCH, 12)
    monthly(user, groceries, {m: 400 + 10 * (i % 3) for i, m in enumerate(history)} | {MARCH: 1200})
    monthly(user, steady, dict.fromkeys(history, 100) | {MARCH: 115})
    [finding] = anomalies.detect_category_anomalies(book=user.personal_book, year=2026, month=3)
    assert (finding.kind, finding.subject_id) == ("category", groceries.pk)
    assert finding.reason.startswith(
        "Groceries is far above its typical month: 1200.00 USD against a typical 410.00 USD"
    )
    assert finding.data["same_month_last_year"] == "400.00"
    assert finding.month == date(2026, 3, 1)


def test_category_months_follow_the_books_month_start_day(user):
    """Budget months from the 15th: March is 15 March - 14 April, summed as such."""
    book = user.personal_book
    book.month_start_day = 15
    book.save(update_fields=["month_start_day"])
    groceries = CategoryFactory(user=user, name="Groceries")
    for year, month in months_before(*MARCH, 12):
        spend(user, 400, date(year, month, 20), category=groceries, description="Shop")
    spend(user, 300, date(2026, 3, 10), category=groceries, description="Shop")  # February's
    spend(user, 700, date(2026, 3, 15), category=groceries, description="Shop")
    spend(user, 600, date(2026, 4, 14), category=groceries, description="Shop")
    spend(user, 900, date(2026, 4, 15), category=groceries, description="Shop")  # April's
    [finding] = anomalies.detect_category_anomalies(book=book, year=2026, month=3)
    assert (finding.subject_id, finding.month, finding.amount) == (
        groceries.pk,
        date(2026, 3, 1),
        Decimal("1300.00"),
    )
    assert finding.data["typical_month"] == "400.00" and finding.data["months"] == 12


def test_a_month_that_is_always_high_is_not_news(user):
    gifts = CategoryFactory(user=user, name="Gifts")
    history = months_before(2026, 12, 12)
    amounts = dict.fromkeys(history, 100)
    amounts[(2025, 12)] = 620  # last December was as high
    monthly(user, gifts, amounts | {(2026, 12): 650})
    assert anomalies.detect_category_anomalies(book=user.personal_book, year=2026, month=12) == []


def test_a_category_with_under_four_months_of_history_is_left_alone(user):
    fun = CategoryFactory(user=user, name="Fun")
    monthly(user, fun, {(2025, 12): 50, (2026, 1): 50, (2026, 2): 50, MARCH: 500})
    assert anomalies.detect_category_anomalies(book=user.personal_book, year=2026, month=3) == []


def test_the_database_statistics_match_numpys(user):
    """The per-merchant series the database groups give numpy's robust figures."""
    cafe_history(user)
    varied_history(user)
    stats = anomalies.history_stats(
        book=user.personal_book,
        keys={"harbor cafe", "shop 3"},
        since=date(2025, 1, 1),
        before=date(2026, 3, 1),
    )
    amounts = [float(a) for a in Expense.objects.values_list("base_amount", flat=True)]
    cafe = [
        float(a)
        for a in Expense.objects.filter(merchant="Harbor Cafe").values_list(
            "base_amount", flat=True
        )
    ]
    for key, values in ((anomalies.BOOK_KEY, amounts), ("harbor cafe", cafe)):
        array = np.asarray(values)
        logs = np.log(array)
        found_stats = stats[key]
        assert found_stats.n == len(values)
        assert found_stats.median == pytest.approx(np.median(array))
        assert found_stats.mad == pytest.approx(np.median(np.abs(array - np.median(array))))
        assert found_stats.p95 == pytest.approx(np.percentile(array, 95))
        assert found_stats.log_median == pytest.approx(np.median(logs))
        assert found_stats.log_mad == pytest.approx(np.median(np.abs(logs - np.median(logs))))
    assert stats["harbor cafe"].median == 11.5 and stats["harbor cafe"].mad == 1.0


def test_a_busy_books_history_is_its_most_recent_expenses(user, monkeypatch):
    monkeypatch.setattr(anomalies, "MAX_HISTORY_ROWS", 5)
    for day in range(1, 11):
        spend(user, 10, date(2026, 2, day))
    assert anomalies.history_since(book=user.personal_book, before=date(2026, 3, 1)) == date(
        2026, 2, 6
    )
    assert anomalies.history_since(book=user.personal_book, before=date(2026, 2, 5)) == date(
        2025, 2, 5
    )


# --- the API ------------------------------------------------------------------------------------


def test_get_lists_the_months_anomalies_most_unusual_first(auth_client, user):
    cafe_history(user)
    spend(user, "25.50", date(2026, 3, 5), merchant="Pizza Place")
    dup = spend(user, "25.50", date(2026, 3, 6), merchant="Pizza Place")
    big = spend(user, 60, date(2026, 3, 9), merchant="Harbor Cafe")
    response = auth_client.get(URL, {"month": "2026-03"})
    assert response.status_code == 200
    body = response.json()
    assert body["month"] == "2026-03" and body["currency"] == "USD" and body["count"] == 2
    first, second = body["results"]
    assert (first["kind"], first["id"], first["reason_code"]) == (
        "expense",
        big.pk,
        "merchant_spike",
    )
    assert first["amount"] == "60.00" and first["expected"] == "11.50"
    assert first["merchant"] == "Harbor Cafe" and first["date"] == "2026-03-09"
    assert first["score"] > second["score"]
    assert (second["id"], second["reason_code"], second["expected"]) == (
        dup.pk,
        "possible_duplicate",
        None,
    )
    assert auth_client.get(URL, {"month": "2026-04"}).json()["results"] == []


def test_the_default_month_is_the_current_budget_month(auth_client, user):
    from core.dates import budget_month_of, format_month, user_today

    today = user_today(user)
    spend(user, 30, today, merchant="Kiosk")
    dup = spend(user, 30, today, merchant="Kiosk")
    body = auth_client.get(URL).json()
    assert body["month"] == format_month(
        *budget_month_of(today, user.personal_book.month_start_day)
    )
    assert [item["id"] for item in body["results"]] == [dup.pk]


@pytest.mark.parametrize("month", ["2026-13", "March", "2026-02-30", "1800-01"])
def test_a_bad_month_is_a_400_naming_it(auth_client, month):
    response = auth_client.get(URL, {"month": month})
    assert response.status_code == 400
    assert "month" in response.json()


def test_a_shared_books_anomalies_are_for_its_members_only(
    user, shared_book, client_for, other_client, auth_client
):
    viewer = UserFactory()
    book = shared_book(owner=user, viewers=[viewer])
    spend(user, 20, date(2026, 3, 5), merchant="Taxi", book=book)
    dup = spend(user, 20, date(2026, 3, 5), merchant="Taxi", book=book)
    spend(user, 20, date(2026, 3, 5), merchant="Bus")  # personal book: not this one's
    spend(user, 20, date(2026, 3, 5), merchant="Bus")
    url = f"/api/v1/books/{book.pk}/ai/anomalies/"
    response = client_for(viewer).get(url, {"month": "2026-03"})
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == [dup.pk]
    assert other_client.get(url, {"month": "2026-03"}).status_code == 404
    personal = auth_client.get(URL, {"month": "2026-03"}).json()["results"]
    assert [item["merchant"] for item in personal] == ["Bus"]
    assert client_for(viewer).get(URL, {"month": "2026-03"}).json()["results"] == []


def test_the_query_count_does_not_grow_with_the_records(auth_client, user):
    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert auth_client.get(URL, {"month": "2026-03"}).status_code == 200
        return len(ctx.captured_queries)

    cafe_history(user)
    spend(user, 60, date(2026, 3, 9), merchant="Harbor Cafe")
    few = queries()
    varied_history(user)
    groceries = CategoryFactory(user=user, name="Groceries")
    monthly(user, groceries, dict.fromkeys(months_before(*MARCH, 12), 400) | {MARCH: 1500})
    for i in range(5):
        spend(user, 25, date(2026, 3, 10 + i), merchant=f"Dup {i}")
        spend(user, 25, date(2026, 3, 11 + i), merchant=f"Dup {i}")
    many = queries()
    # the recurring and habitual-amount checks and two lookups of category names
    assert many <= few + 4
    assert many <= 10


# --- notifications ------------------------------------------------------------------------------


def unusual(user):
    return Notification.objects.visible_to(user).filter(kind=NotificationKind.UNUSUAL_SPENDING)


def write(user, django_capture_on_commit_callbacks, *, book=None, **data):
    values = {"amount": Decimal("60.00"), "date": date(2026, 3, 9), "description": "Coffee"}
    values |= data
    with django_capture_on_commit_callbacks(execute=True):
        return expense_create(user=user, book=book, data=values)


def test_a_new_anomaly_is_told_once(user, django_capture_on_commit_callbacks):
    cafe_history(user)
    expense = write(user, django_capture_on_commit_callbacks, merchant="Harbor Cafe")
    [notification] = unusual(user)
    anomaly = Anomaly.objects.get()
    assert notification.title == "Unusual charge"
    assert "the usual amount for Harbor Cafe" in notification.body
    assert notification.data == {
        "book": user.personal_book.pk,
        "anomaly": anomaly.pk,
        "expense": expense.pk,
        "category": None,
        "reason_code": "merchant_spike",
    }
    assert anomaly.notified_at is not None and anomaly.expense == expense
    # Found again (an edit, a rerun): still one anomaly and one notification.
    with django_capture_on_commit_callbacks(execute=True):
        from expenses.services import expense_update

        expense_update(expense=expense, data={"notes": "team breakfast"}, user=user)
    assert anomalies.anomalies_after_write(book=user.personal_book, dates=[expense.date]) == 0
    assert unusual(user).count() == 1 and Anomaly.objects.count() == 1


def test_an_ordinary_expense_tells_nothing(user, django_capture_on_commit_callbacks):
    cafe_history(user)
    write(user, django_capture_on_commit_callbacks, merchant="Harbor Cafe", amount=Decimal("12"))
    assert not unusual(user).exists() and not Anomaly.objects.exists()


def test_unusual_spending_switched_off_shows_nothing(user, django_capture_on_commit_callbacks):
    preferences_update(user=user, changes={"unusual_spending": {"in_app": False, "email": False}})
    cafe_history(user)
    write(user, django_capture_on_commit_callbacks, merchant="Harbor Cafe")
    assert not unusual(user).exists()
    assert Anomaly.objects.get().notified_at is not None  # found, and not told later either


def test_a_shared_books_anomaly_tells_every_member(
    user, shared_book, django_capture_on_commit_callbacks
):
    editor, viewer = UserFactory(), UserFactory()
    book = shared_book(owner=user, editors=[editor], viewers=[viewer], name="Flat")
    cafe_history(user, book=book)
    write(editor, django_capture_on_commit_callbacks, book=book, merchant="Harbor Cafe")
    for member in (user, editor, viewer):
        [notification] = unusual(member)
        assert notification.title == "[Flat] Unusual charge"
        assert notification.data["book"] == book.pk
    assert not unusual(UserFactory()).exists()


def test_an_import_sends_one_summary_not_one_per_record(user, django_capture_on_commit_callbacks):
    today = anomalies.book_today(user.personal_book)
    for i in range(8):
        spend(user, 10 + i % 4, today - timedelta(days=200 + 5 * i), merchant="Harbor Cafe")
    varied = [today - timedelta(days=120 + 2 * i) for i in range(30)]
    for i, day in enumerate(varied):
        spend(user, 10 + (i * 7) % 40, day, merchant=f"Shop {i % 12}")
    batch = ImportBatch.objects.create(
        book=user.personal_book, user=user, format="csv", default_currency="USD"
    )
    day = today - timedelta(days=1)
    rows = [
        {
            "amount": Decimal(amount),
            "currency": "USD",
            "date": day,
            "description": text,
            "text": text,
            "fitid": "",
            "key": f"k{i}",
        }
        for i, (amount, text) in enumerate(
            [
                ("70", "Harbor Cafe"),
                ("900", "Apple Store"),
                ("30", "Kiosk"),
                ("30", "Kiosk"),
                ("11", "Harbor Cafe"),
            ]
        )
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            expenses_bulk_import(book=user.personal_book, user=user, rows=rows, import_batch=batch)
            == 5
        )
    [summary] = unusual(user)
    assert summary.title == "3 unusual charges in your import"
    assert summary.data["import_batch"] == batch.pk and len(summary.data["expenses"]) == 3
    assert Anomaly.objects.filter(notified_at__isnull=False).count() == 3
    # A later single write does not tell the import's anomalies again.
    assert anomalies.anomalies_after_write(book=user.personal_book, dates=[day]) == 0
    assert unusual(user).count() == 1


def test_a_failing_detector_never_breaks_the_write(
    user, django_capture_on_commit_callbacks, monkeypatch
):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(anomalies, "detect_expense_anomalies", broken)
    expense = write(user, django_capture_on_commit_callbacks, merchant="Harbor Cafe")
    assert Expense.objects.filter(pk=expense.pk).exists()


def test_the_daily_job_tells_each_category_anomaly_once(user):
    groceries = CategoryFactory(user=user, name="Groceries")
    history = months_before(*MARCH, 12)
    monthly(user, groceries, dict.fromkeys(history, 400) | {MARCH: 1500})
    today = date(2026, 3, 20)
    assert anomalies.detect_category_anomalies_due(today=today) == 1
    [notification] = unusual(user)
    assert notification.title == "Unusual month"
    assert notification.data["category"] == groceries.pk
    assert anomalies.detect_category_anomalies_due(today=today) == 0
    assert unusual(user).count() == 1


def test_the_job_is_registered():
    from core.jobs import registered_jobs

    assert "detect_category_anomalies" in {job.name for job in registered_jobs()}
