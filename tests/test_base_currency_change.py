"""Changing base_currency re-expresses budgets and goals too, all or nothing."""

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from budgets.models import Budget
from core.money import MAX_AMOUNT, minor_units, quantize
from currencies.models import ExchangeRate
from currencies.selectors import base_amount, get_rate
from expenses.models import Expense
from expenses.services import expenses_recompute_base
from goals.models import Contribution, Goal
from goals.services import contributions_converted
from tests.concurrency import require_postgresql, run_concurrently
from tests.fuzz_depth import examples

pytestmark = pytest.mark.django_db


@pytest.fixture
def holdings(user):
    budget = Budget.objects.create(
        user=user, month=date(2026, 3, 1), scope="overall", amount=Decimal("100")
    )
    goal = Goal.objects.create(user=user, name="Bike", target_amount=Decimal("1000.00"))
    Contribution.objects.create(goal=goal, amount=Decimal("250.00"), date=date(2026, 1, 5))
    Contribution.objects.create(goal=goal, amount=Decimal("0.01"), date=date(2026, 1, 6))
    return budget, goal


def test_budgets_and_goals_convert_at_the_latest_rate(auth_client, user, holdings):
    budget, goal = holdings
    ExchangeRate.objects.create(base="USD", quote="JPY", date=date(2020, 1, 1), rate=Decimal("100"))
    ExchangeRate.objects.create(
        base="USD", quote="JPY", date=date(2026, 1, 1), rate=Decimal("150.5")
    )
    response = auth_client.patch("/api/v1/auth/me/", {"base_currency": "JPY"}, format="json")
    assert response.status_code == 200, response.content
    budget.refresh_from_db()
    goal.refresh_from_db()
    assert budget.amount == Decimal("15050")
    assert goal.target_amount == Decimal("150500")
    amounts = sorted(Contribution.objects.filter(goal=goal).values_list("amount", flat=True))
    assert amounts == [Decimal("2"), Decimal("37625")]  # 0.01 × 150.5 = 1.505 → 2
    listed = auth_client.get("/api/v1/budgets/").json()["results"][0]
    assert listed["amount"] == "15050"


def test_missing_rate_rejects_the_change_and_keeps_budgets_and_goals(auth_client, user, holdings):
    budget, goal = holdings
    response = auth_client.patch("/api/v1/auth/me/", {"base_currency": "GBP"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "rate_unavailable"
    user.refresh_from_db()
    budget.refresh_from_db()
    goal.refresh_from_db()
    assert user.base_currency == "USD"
    assert budget.amount == Decimal("100") and goal.target_amount == Decimal("1000.00")


# --- Recomputing from originals, serialized per user (issue 11) ----------------------

USD_GBP = Decimal("0.8")
USD_JPY = Decimal("150.5")
USD_EUR = Decimal("0.9")


def _rates(on=date(2026, 1, 1)):
    for quote, rate in (("GBP", USD_GBP), ("JPY", USD_JPY), ("EUR", USD_EUR)):
        ExchangeRate.objects.create(base="USD", quote=quote, date=on, rate=rate)


def _patch(client, currency):
    return client.patch("/api/v1/auth/me/", {"base_currency": currency}, format="json")


def _fresh(amount: Decimal, from_currency: str, to_currency: str) -> Decimal:
    """What a single change would give: the original converted once, by the one rule."""
    rate = get_rate(from_currency=from_currency, to_currency=to_currency, on=date.today()).rate
    return base_amount(
        amount=amount, rate=rate, from_currency=from_currency, to_currency=to_currency
    )


def test_originals_are_kept_on_every_write_and_a_round_trip_does_not_drift(
    auth_client, user, holdings
):
    budget, goal = holdings
    _rates()
    assert (budget.amount_original, budget.currency_original) == (Decimal("100"), "USD")
    for currency in ("JPY", "GBP", "JPY", "USD"):
        assert _patch(auth_client, currency).status_code == 200
    budget.refresh_from_db()
    goal.refresh_from_db()
    assert budget.amount == Decimal("100") and goal.target_amount == Decimal("1000")
    assert sorted(Contribution.objects.values_list("amount", flat=True)) == [
        Decimal("0.01"),
        Decimal("250"),
    ]
    # An edit in the new base currency becomes the new original.
    assert _patch(auth_client, "JPY").status_code == 200
    response = auth_client.patch(
        f"/api/v1/budgets/{budget.pk}/", {"amount": "20000"}, format="json"
    )
    assert response.status_code == 200, response.content
    budget.refresh_from_db()
    assert (budget.amount_original, budget.currency_original) == (Decimal("20000"), "JPY")
    assert _patch(auth_client, "USD").status_code == 200
    budget.refresh_from_db()
    assert budget.amount == Decimal("132.89")  # 20000 / 150.5 at 12 places, half up


def test_the_same_currency_again_changes_nothing(auth_client, user, holdings):
    budget, _ = holdings
    _rates()
    assert _patch(auth_client, "GBP").status_code == 200
    assert _patch(auth_client, "GBP").status_code == 200
    budget.refresh_from_db()
    assert budget.amount == Decimal("80")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("threads", [2, 4])
def test_concurrent_changes_end_as_one_change_to_the_last_currency(client_for, threads):
    require_postgresql()
    from users.tests.factories import UserFactory

    user = UserFactory(base_currency="USD")
    budget = Budget.objects.create(
        user=user, month=date(2026, 3, 1), scope="overall", amount=Decimal("100")
    )
    goal = Goal.objects.create(user=user, name="Bike", target_amount=Decimal("1000.00"))
    for amount in ("250.00", "0.01", "-100.00"):
        Contribution.objects.create(goal=goal, amount=Decimal(amount), date=date(2026, 1, 5))
    Expense.objects.create(
        user=user,
        amount=Decimal("100"),
        currency="USD",
        base_amount=Decimal("100"),
        date=date(2026, 2, 1),
        description="x",
    )
    _rates()
    currencies = ["GBP", "JPY", "EUR", "GBP"][:threads]

    def change(i: int):
        return _patch(client_for(user), currencies[i]).status_code

    results, errors = run_concurrently(change, threads=threads)
    assert not errors and results == [200] * threads
    user.refresh_from_db()
    final = user.base_currency
    budget.refresh_from_db()
    goal.refresh_from_db()
    assert budget.amount == _fresh(Decimal("100"), "USD", final)
    assert goal.target_amount == _fresh(Decimal("1000"), "USD", final)
    saved = sum(Contribution.objects.filter(goal=goal).values_list("amount", flat=True))
    assert saved == _fresh(Decimal("150.01"), "USD", final)
    assert Expense.objects.get(user=user).base_amount == _fresh(Decimal("100"), "USD", final)


@pytest.mark.django_db(transaction=True)
def test_records_written_during_a_change_end_in_the_new_currency(client_for):
    require_postgresql()
    from users.tests.factories import UserFactory

    user = UserFactory(base_currency="USD")
    _rates(on=date(2020, 1, 1))
    for day in range(1, 200):
        Expense.objects.create(
            user=user,
            amount=Decimal("10"),
            currency="EUR",
            base_amount=Decimal("11.11"),
            exchange_rate=Decimal("1.111111111111"),
            date=date(2025, 1, 1) + timedelta(days=day),
            description="old",
        )

    def work(i: int):
        client = client_for(user)
        if i == 0:
            return _patch(client, "GBP").status_code
        body = {
            "amount": "10",
            "currency": "EUR",
            "date": f"2026-01-{i:02d}",
            "description": f"new {i}",
        }
        return client.post("/api/v1/expenses/", body, format="json").status_code

    results, errors = run_concurrently(work, threads=5)
    assert not errors and sorted(results) == [200, 201, 201, 201, 201]
    user.refresh_from_db()
    assert user.base_currency == "GBP"
    rate = get_rate(from_currency="EUR", to_currency="GBP", on=date(2026, 1, 1)).rate
    for expense in Expense.objects.filter(user=user):
        assert expense.base_amount == base_amount(
            amount=expense.amount, rate=rate, from_currency="EUR", to_currency="GBP"
        ), expense.description


# --- Set-based recompute ------------------------------------------------------------


def test_recompute_is_set_based_and_matches_the_one_rule(user, django_assert_max_num_queries):
    rates = {}
    for offset in range(0, 60, 3):
        day = date(2025, 1, 1) + timedelta(days=offset)
        rates[day] = Decimal("1.1") + Decimal(offset) / 1000
        ExchangeRate.objects.create(base="EUR", quote="USD", date=day, rate=rates[day])
        ExchangeRate.objects.create(base="EUR", quote="KWD", date=day, rate=Decimal("0.33"))
        ExchangeRate.objects.create(base="EUR", quote="CLF", date=day, rate=Decimal("0.031"))
    expenses = []
    for i in range(300):
        currency = ("EUR", "KWD", "CLF", "USD")[i % 4]
        amount = {"EUR": "12.35", "KWD": "0.001", "CLF": "0.0001", "USD": "5"}[currency]
        expenses.append(
            Expense(
                book=user.personal_book,
                user=user,
                amount=Decimal(amount) * (i + 1),
                currency=currency,
                base_amount=Decimal(1),
                date=date(2025, 1, 2) + timedelta(days=i % 60),
                description="x",
            )
        )
    Expense.objects.bulk_create(expenses)
    # About a dozen statements for 300 rows over 60 days (not one lookup per row).
    with django_assert_max_num_queries(20 if connection.vendor == "postgresql" else 40):
        assert expenses_recompute_base(book=user.personal_book, base_currency="USD") == 300
    for expense in Expense.objects.filter(user=user):
        quote = get_rate(from_currency=expense.currency, to_currency="USD", on=expense.date)
        assert expense.exchange_rate == quote.rate
        assert expense.base_amount == base_amount(
            amount=expense.amount,
            rate=quote.rate,
            from_currency=expense.currency,
            to_currency="USD",
        )
        assert expense.base_amount > 0


def test_a_missing_rate_for_one_date_changes_nothing(auth_client, user):
    ExchangeRate.objects.create(base="EUR", quote="USD", date=date(2025, 6, 1), rate=Decimal("1.1"))
    for day in (date(2025, 6, 2), date(2025, 5, 1)):  # no rate on or before 2025-05-01
        Expense.objects.create(
            user=user,
            amount=Decimal("1"),
            currency="USD",
            base_amount=Decimal("1"),
            date=day,
            description="x",
        )
    response = _patch(auth_client, "EUR")
    assert response.status_code == 400 and response.json()["code"] == "rate_unavailable"
    assert set(Expense.objects.values_list("base_amount", flat=True)) == {Decimal("1")}


# --- Tiny conversions and the one rounding rule ---------------------------------------


def test_a_tiny_expense_gets_the_smallest_unit_not_zero(auth_client, user):
    user.base_currency = "KWD"
    user.save()
    ExchangeRate.objects.create(
        base="KWD", quote="KRW", date=date(2025, 1, 1), rate=Decimal("4400")
    )
    response = auth_client.post(
        "/api/v1/expenses/",
        {"amount": "1", "currency": "KRW", "date": "2025-02-01", "description": "gum"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert Decimal(response.json()["base_amount"]) == Decimal("0.001")


CURRENCIES_BY_PLACES = ["JPY", "KRW", "EUR", "USD", "KWD", "BHD", "CLF", "UYW"]


@settings(max_examples=examples(300), deadline=None)
@given(
    amount=st.decimals(min_value=Decimal("0.0001"), max_value=MAX_AMOUNT, places=4),
    rate=st.decimals(min_value=Decimal("1e-12"), max_value=Decimal("99999999"), places=12),
    from_currency=st.sampled_from(CURRENCIES_BY_PLACES),
    to_currency=st.sampled_from(CURRENCIES_BY_PLACES),
)
def test_base_amount_is_positive_exact_half_up_and_storable(
    amount, rate, from_currency, to_currency
):
    amount = quantize(amount, from_currency) or Decimal(1)
    result = base_amount(
        amount=amount, rate=rate, from_currency=from_currency, to_currency=to_currency
    )
    places = minor_units(to_currency)
    smallest = Decimal(1).scaleb(-places)
    with localcontext(prec=80):
        exact = amount * rate
        half_up = exact.quantize(smallest, rounding=ROUND_HALF_UP)
    assert result > 0
    assert result == (half_up if half_up > 0 else smallest)
    assert -result.as_tuple().exponent <= places
    assert result < Decimal(10) ** 20  # fits base_amount (24 digits, 4 places)


# --- Goal balances ------------------------------------------------------------------


def test_goal_balance_does_not_go_negative_after_a_change(auth_client, user):
    ExchangeRate.objects.create(base="USD", quote="EUR", date=date(2025, 1, 1), rate=Decimal("1.4"))
    goal = Goal.objects.create(user=user, name="Trip", target_amount=Decimal("10"))
    for i in range(3):
        Contribution.objects.create(goal=goal, amount=Decimal("0.01"), date=date(2025, 2, 1 + i))
    Contribution.objects.create(goal=goal, amount=Decimal("-0.03"), date=date(2025, 2, 9))
    assert _patch(auth_client, "EUR").status_code == 200
    amounts = list(Contribution.objects.filter(goal=goal).values_list("amount", flat=True))
    # One by one: 0.014 → 0.01 three times, 0.042 → 0.04 out, and a balance of -0.01.
    assert sum(amounts) == 0
    assert all(amount != 0 for amount in amounts)
    detail = auth_client.get(f"/api/v1/goals/{goal.pk}/").json()
    assert Decimal(detail["saved_amount"]) == 0


@st.composite
def _contribution_history(draw):
    """Deposits and withdrawals whose running balance never goes below 0."""
    currency = draw(st.sampled_from(CURRENCIES_BY_PLACES))
    step = Decimal(1).scaleb(-minor_units(currency))
    balance, amounts = Decimal(0), []
    for _ in range(draw(st.integers(1, 12))):
        if balance > 0 and draw(st.booleans()):
            units = draw(st.integers(1, int(balance / step)))
            amounts.append(-units * step)
        else:
            amounts.append(draw(st.integers(1, 10**6)) * step)
        balance += amounts[-1]
    return currency, amounts


@settings(max_examples=examples(300), deadline=None)
@given(
    history=_contribution_history(),
    rate=st.decimals(min_value=Decimal("0.00001"), max_value=Decimal("100000"), places=8),
    to_currency=st.sampled_from(CURRENCIES_BY_PLACES),
)
def test_converted_contributions_keep_signs_and_the_balance(history, rate, to_currency):
    _, amounts = history
    with localcontext(prec=80):
        exact = [amount * rate for amount in amounts]
        total = sum(exact, Decimal(0))
    result = contributions_converted(exact=exact, currency=to_currency)
    smallest = Decimal(1).scaleb(-minor_units(to_currency))
    assert all((r > 0) == (a > 0) and r != 0 for r, a in zip(result, amounts, strict=True))
    assert all(-r.as_tuple().exponent <= minor_units(to_currency) for r in result)
    saved = sum(result, Decimal(0))
    assert saved >= 0
    expected = total.quantize(smallest, rounding=ROUND_HALF_UP)
    only_tiny_deposits = all(a > 0 for a in amounts) and all(r == smallest for r in result)
    assert saved == expected or only_tiny_deposits


# --- Bounds -------------------------------------------------------------------------


def test_a_figure_too_large_for_the_new_currency_is_refused_naming_the_pair(auth_client, user):
    ExchangeRate.objects.create(
        base="USD", quote="IRR", date=date(2025, 1, 1), rate=Decimal("42000")
    )
    Budget.objects.create(user=user, month=date(2026, 3, 1), scope="overall", amount=MAX_AMOUNT)
    response = _patch(auth_client, "IRR")
    assert response.status_code == 400
    assert response.json()["code"] == "conversion_out_of_range"
    assert "USD->IRR" in response.json()["detail"]
    user.refresh_from_db()
    assert user.base_currency == "USD"


def test_a_cross_rate_too_large_to_store_is_refused_naming_the_pair(auth_client, user):
    day = date(2025, 1, 1)
    ExchangeRate.objects.create(base="EUR", quote="IRR", date=day, rate=Decimal("99999999"))
    ExchangeRate.objects.create(base="EUR", quote="KWD", date=day, rate=Decimal("0.00000001"))
    response = auth_client.get(
        "/api/v1/convert/", {"amount": "1", "from": "KWD", "to": "IRR", "date": "2025-01-02"}
    )
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "conversion_out_of_range"
    assert "KWD->IRR" in response.json()["detail"]


# --- Big accounts: the change goes to the task queue (issue 11) ----------------------


def _account(user, *, expenses=8):
    """Expenses in several currencies and dates, a budget and a goal with contributions."""
    currencies = ("USD", "EUR", "JPY", "GBP")
    for i in range(expenses):
        currency = currencies[i % len(currencies)]
        amount = Decimal("1234") if currency == "JPY" else Decimal("12.34") * (i + 1)
        Expense.objects.create(
            user=user,
            amount=amount,
            currency=currency,
            base_amount=Decimal(1),
            date=date(2026, 1, 1) + timedelta(days=i * 5),
            description=f"e{i}",
        )
    Budget.objects.create(user=user, month=date(2026, 3, 1), scope="overall", amount=Decimal("500"))
    goal = Goal.objects.create(user=user, name="Car", target_amount=Decimal("3000.00"))
    for amount in ("250.00", "0.01", "-100.00"):
        Contribution.objects.create(goal=goal, amount=Decimal(amount), date=date(2026, 1, 5))


def _figures(user):
    """Everything a currency change rewrites, in a comparable order."""
    return {
        "expenses": list(
            Expense.objects.filter(user=user)
            .order_by("description")
            .values_list("description", "base_amount", "exchange_rate")
        ),
        "budgets": list(Budget.objects.filter(user=user).values_list("amount", flat=True)),
        "goals": list(Goal.objects.filter(user=user).values_list("target_amount", "status")),
        "contributions": list(
            Contribution.objects.filter(goal__user=user)
            .order_by("date", "amount")
            .values_list("amount", flat=True)
        ),
    }


def test_a_big_account_changes_on_the_queue_exactly_as_inline(
    client_for, settings, django_capture_on_commit_callbacks
):
    from users.models import BaseCurrencyChange
    from users.tests.factories import UserFactory

    _rates()
    big, twin = UserFactory(), UserFactory()
    _account(big)
    _account(twin)
    settings.BASE_CURRENCY_SYNC_MAX_ROWS = 5
    client = client_for(big)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = client.patch(
            "/api/v1/auth/me/", {"base_currency": "GBP", "first_name": "Ada"}, format="json"
        )
        assert response.status_code == 202, response.content
        body = response.json()
        # Names apply now; the currency stays until the queued change is done.
        assert body["first_name"] == "Ada" and body["base_currency"] == "USD"
        change = body["base_currency_change"]
        assert change["status"] == "queued"
        assert (change["from_currency"], change["to_currency"], change["error"]) == (
            "USD",
            "GBP",
            "",
        )
        assert set(Expense.objects.filter(user=big).values_list("base_amount", flat=True)) == {
            Decimal(1)
        }
    assert len(queued) == 1  # the task, handed over once the request committed
    me = client.get("/api/v1/auth/me/").json()
    assert me["base_currency"] == "GBP"
    assert me["base_currency_change"]["id"] == change["id"]
    assert me["base_currency_change"]["status"] == "done"
    finished = BaseCurrencyChange.objects.get(pk=change["id"])
    assert finished.finished_at is not None and finished.started_at is not None

    # The twin, under the threshold, changes inline (200): same figures to the last digit.
    settings.BASE_CURRENCY_SYNC_MAX_ROWS = 1000
    response = _patch(client_for(twin), "GBP")
    assert response.status_code == 200 and response.json()["base_currency_change"] is None
    assert _figures(big) == _figures(twin)
    assert _figures(big)["expenses"][0][1] != Decimal(1)


def test_a_failed_queued_change_names_the_pair_and_converts_nothing(
    auth_client, user, settings, django_capture_on_commit_callbacks
):
    _account(user)  # no rates at all: USD -> CHF cannot convert
    settings.BASE_CURRENCY_SYNC_MAX_ROWS = 5
    before = _figures(user)
    with django_capture_on_commit_callbacks(execute=True):
        assert _patch(auth_client, "CHF").status_code == 202
    me = auth_client.get("/api/v1/auth/me/").json()
    assert me["base_currency"] == "USD"
    change = me["base_currency_change"]
    assert change["status"] == "failed"
    assert "->CHF" in change["error"] and "exchange rate" in change["error"]
    assert _figures(user) == before
    # Failed is not pending: another change may be asked for.
    _rates()
    with django_capture_on_commit_callbacks(execute=True):
        assert _patch(auth_client, "GBP").status_code == 202
    assert auth_client.get("/api/v1/auth/me/").json()["base_currency"] == "GBP"


def test_a_second_change_while_one_is_queued_is_a_409(
    auth_client, user, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from users import services
    from users.models import BaseCurrencyChange
    from users.views import base_currency_change_task

    _rates()
    _account(user)
    settings.BASE_CURRENCY_SYNC_MAX_ROWS = 5
    handed: list[int] = []
    monkeypatch.setattr(base_currency_change_task, "delay", handed.append)
    with django_capture_on_commit_callbacks(execute=True):
        first = _patch(auth_client, "GBP")
    assert first.status_code == 202
    change_id = first.json()["base_currency_change"]["id"]
    assert handed == [change_id]  # queued, not run (the queue is stopped here)

    for currency in ("JPY", "EUR"):
        refused = auth_client.patch(
            "/api/v1/auth/me/", {"base_currency": currency, "last_name": "X"}, format="json"
        )
        assert refused.status_code == 409, refused.content
        assert refused.json()["code"] == "base_currency_change_in_progress"
        assert "GBP" in refused.json()["detail"]
        assert int(refused["Retry-After"]) > 0
    user.refresh_from_db()
    assert user.last_name == "" and user.base_currency == "USD"  # nothing of it applied
    # Under the threshold too: the pending change comes first, whatever the size.
    settings.BASE_CURRENCY_SYNC_MAX_ROWS = 1000
    assert _patch(auth_client, "JPY").status_code == 409
    # Asking again for the pending currency is the same request: 202, nothing new queued.
    again = _patch(auth_client, "GBP")
    assert again.status_code == 202 and again.json()["base_currency_change"]["id"] == change_id
    # Other settings, and the current currency sent back unchanged, still apply at once.
    response = auth_client.patch(
        "/api/v1/auth/me/", {"base_currency": "USD", "timezone": "Europe/Paris"}, format="json"
    )
    assert response.status_code == 200 and response.json()["timezone"] == "Europe/Paris"
    assert BaseCurrencyChange.objects.filter(user=user).count() == 1

    # The queue delivers it twice: converted once, done.
    services.base_currency_change_run(change_id=change_id)
    converted = _figures(user)
    services.base_currency_change_run(change_id=change_id)
    assert _figures(user) == converted
    assert BaseCurrencyChange.objects.get(pk=change_id).status == "done"
    user.refresh_from_db()
    assert user.base_currency == "GBP"
    budget = Budget.objects.get(user=user)
    assert budget.amount == _fresh(Decimal("500"), "USD", "GBP")
    # Done, so a new change is accepted (and queued) again.
    settings.BASE_CURRENCY_SYNC_MAX_ROWS = 5
    with django_capture_on_commit_callbacks(execute=True):
        assert _patch(auth_client, "JPY").status_code == 202
    assert len(handed) == 2 and handed[-1] != change_id


def test_at_most_one_pending_change_per_book_in_the_database(user, other_user, shared_book):
    from django.db import IntegrityError, transaction

    from users.models import BaseCurrencyChange

    book = user.personal_book
    BaseCurrencyChange.objects.create(book=book, user=user, from_currency="USD", to_currency="GBP")
    with pytest.raises(IntegrityError), transaction.atomic():
        BaseCurrencyChange.objects.create(
            book=book, user=user, from_currency="USD", to_currency="JPY", status="running"
        )
    BaseCurrencyChange.objects.create(
        book=book, user=user, from_currency="USD", to_currency="JPY", status="done"
    )
    # Per book, not per user: the same owner may have a shared book's change pending too.
    shared = shared_book(owner=user)
    BaseCurrencyChange.objects.create(
        book=shared, user=user, from_currency="USD", to_currency="JPY"
    )


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["USD", "EUR", "JPY", "GBP", "KWD"]),
            st.integers(min_value=1, max_value=10**9),
            st.integers(min_value=0, max_value=120),
        ),
        min_size=1,
        max_size=12,
    ),
    target=st.sampled_from(["GBP", "EUR", "JPY", "KWD"]),
)
def test_queued_and_inline_changes_agree_for_any_records(
    rows, target, django_capture_on_commit_callbacks
):
    """Whatever the records, the queued path stores what the inline path stores."""
    from django.conf import settings as django_settings

    from users.services import base_currency_change_run, user_settings_update, user_update
    from users.tests.factories import UserFactory

    if not ExchangeRate.objects.exists():
        for day in (date(2025, 12, 1), date(2026, 2, 1)):
            for quote, rate in (("GBP", "0.8"), ("JPY", "150.5"), ("EUR", "0.9"), ("KWD", "0.3")):
                rate = Decimal(rate) + Decimal(day.month) / 1000
                ExchangeRate.objects.create(base="USD", quote=quote, date=day, rate=rate)
    queued, inline = UserFactory(), UserFactory()
    for owner in (queued, inline):
        for i, (currency, units, offset) in enumerate(rows):
            Expense.objects.create(
                user=owner,
                amount=Decimal(units).scaleb(-minor_units(currency)),
                currency=currency,
                base_amount=Decimal(1),
                date=date(2026, 1, 1) + timedelta(days=offset),
                description=f"r{i}",
            )
    limit = django_settings.BASE_CURRENCY_SYNC_MAX_ROWS
    django_settings.BASE_CURRENCY_SYNC_MAX_ROWS = 0
    try:
        with django_capture_on_commit_callbacks(execute=True):
            change = user_settings_update(
                user=queued,
                data={"base_currency": target},
                enqueue=lambda pk: base_currency_change_run(change_id=pk),
            )
    finally:
        django_settings.BASE_CURRENCY_SYNC_MAX_ROWS = limit
    assert change is not None
    change.refresh_from_db()
    assert change.status == "done", change.error
    user_update(user=inline, data={"base_currency": target})
    assert _figures(queued)["expenses"] == _figures(inline)["expenses"]


# --- Writes during a long change answer 409, not hang (PostgreSQL) --------------------


@pytest.mark.django_db(transaction=True)
def test_writes_during_a_held_change_answer_409_within_the_wait(client_for, settings):
    import threading
    import time

    from django.db import transaction

    from users.base_currency import base_currency_change_lock
    from users.tests.factories import DEFAULT_PASSWORD, UserFactory

    require_postgresql()
    settings.BASE_CURRENCY_LOCK_WAIT_SECONDS = 1
    user = UserFactory(base_currency="USD")
    budget = Budget.objects.create(
        user=user, month=date(2026, 3, 1), scope="overall", amount=Decimal("100")
    )
    goal = Goal.objects.create(user=user, name="Bike", target_amount=Decimal("1000.00"))
    expense = Expense.objects.create(
        user=user,
        amount=Decimal("5"),
        currency="USD",
        base_amount=Decimal("5"),
        date=date(2026, 2, 1),
        description="kept",
    )
    # Before the lock: issuing a token inserts a row referencing the user, which waits too.
    client = client_for(user)
    held, release = threading.Event(), threading.Event()

    def change_in_progress() -> None:
        """Holds the change lock and a rewritten row, as a running base-currency change does."""
        try:
            with transaction.atomic():
                base_currency_change_lock(book_id=user.personal_book.pk)
                Expense.objects.filter(pk=expense.pk).update(description="kept")  # row lock
                held.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=change_in_progress)
    holder.start()
    assert held.wait(10)
    api = "/api/v1"
    writes = [
        ("post", f"{api}/expenses/", {"amount": "1", "date": "2026-02-02", "description": "n"}),
        ("patch", f"{api}/expenses/{expense.pk}/", {"description": "changed"}),
        ("delete", f"{api}/expenses/{expense.pk}/", None),
        ("post", f"{api}/budgets/", {"month": "2026-04", "scope": "overall", "amount": "50"}),
        ("patch", f"{api}/budgets/{budget.pk}/", {"amount": "70"}),
        ("delete", f"{api}/budgets/{budget.pk}/", None),
        ("post", f"{api}/goals/{goal.pk}/contributions/", {"amount": "5", "date": "2026-02-02"}),
        ("delete", f"{api}/goals/{goal.pk}/", None),
        ("patch", f"{api}/auth/me/", {"base_currency": "GBP"}),
    ]
    try:
        for method, path, body in writes:
            started = time.monotonic()
            response = getattr(client, method)(path, body, format="json")
            elapsed = time.monotonic() - started
            assert response.status_code == 409, (path, response.status_code, response.content)
            assert response.json()["code"] == "base_currency_change_in_progress"
            assert int(response["Retry-After"]) > 0
            assert elapsed < 5, (path, elapsed)
        # What only touches the user row does not wait for a change at all: login,
        # refresh, and settings other than the currency.
        started = time.monotonic()
        tokens = client.post(
            f"{api}/auth/token/", {"username": user.username, "password": DEFAULT_PASSWORD}
        )
        assert tokens.status_code == 200, tokens.content
        refreshed = client.post(f"{api}/auth/token/refresh/", {"refresh": tokens.json()["refresh"]})
        assert refreshed.status_code == 200, refreshed.content
        renamed = client.patch(f"{api}/auth/me/", {"first_name": "Late"}, format="json")
        assert renamed.status_code == 200, renamed.content
        assert time.monotonic() - started < 5
    finally:
        release.set()
        holder.join()
    # Nothing of the refused writes was stored, and the same writes work afterwards.
    assert list(Expense.objects.filter(user=user).values_list("description", flat=True)) == ["kept"]
    budget.refresh_from_db()
    assert budget.amount == Decimal("100")
    user.refresh_from_db()
    assert (user.first_name, user.base_currency) == ("Late", "USD")
    response = client.post(f"{api}/expenses/", writes[0][2], format="json")
    assert response.status_code == 201, response.content
    response = client.patch(f"{api}/budgets/{budget.pk}/", {"amount": "70"}, format="json")
    assert response.status_code == 200, response.content


# --- Shared books: the same change, per book (SPEC §14) -----------------------------


def _book_figures(book):
    """A book's figures, in a comparable order (as `_figures`, by book)."""
    return {
        "expenses": list(
            Expense.objects.filter(book=book)
            .order_by("description")
            .values_list("description", "base_amount", "exchange_rate")
        ),
        "budgets": list(Budget.objects.filter(book=book).values_list("amount", flat=True)),
        "goals": list(Goal.objects.filter(book=book).values_list("target_amount", "status")),
        "contributions": list(
            Contribution.objects.filter(goal__book=book)
            .order_by("date", "amount")
            .values_list("amount", flat=True)
        ),
    }


def _book_account(book, member, *, expenses=8):
    """`_account`, written into `book` by `member`."""
    currencies = ("USD", "EUR", "JPY", "GBP")
    for i in range(expenses):
        currency = currencies[i % len(currencies)]
        amount = Decimal("1234") if currency == "JPY" else Decimal("12.34") * (i + 1)
        Expense.objects.create(
            book=book,
            user=member,
            amount=amount,
            currency=currency,
            base_amount=Decimal(1),
            date=date(2026, 1, 1) + timedelta(days=i * 5),
            description=f"e{i}",
        )
    Budget.objects.create(
        book=book,
        user=member,
        month=date(2026, 3, 1),
        scope="overall",
        amount=Decimal("500"),
    )
    goal = Goal.objects.create(book=book, user=member, name="Car", target_amount=Decimal("3000.00"))
    for amount in ("250.00", "0.01", "-100.00"):
        Contribution.objects.create(goal=goal, amount=Decimal(amount), date=date(2026, 1, 5))


def _book_patch(client, book, body):
    return client.patch(f"/api/v1/books/{book.pk}/", body, format="json")


def test_a_shared_books_new_currency_converts_that_book_only(
    auth_client, user, other_user, client_for, shared_book
):
    _rates()
    book = shared_book(owner=user, editors=[other_user], base_currency="USD")
    _book_account(book, other_user)
    _account(user)  # the owner's personal book, in USD too
    personal = _figures(user)
    before = _book_figures(book)

    response = _book_patch(auth_client, book, {"base_currency": "GBP", "name": "Flat"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["base_currency"], body["name"]) == ("GBP", "Flat")
    assert body["base_currency_change"] is None  # converted inline, nothing queued
    after = _book_figures(book)
    assert after["budgets"] == [_fresh(Decimal("500"), "USD", "GBP")]
    assert after["goals"][0][0] == _fresh(Decimal("3000"), "USD", "GBP")
    assert sum(after["contributions"]) == _fresh(Decimal("150.01"), "USD", "GBP")
    usd = next(row for row in after["expenses"] if row[0] == "e0")
    assert usd[1] == _fresh(Decimal("12.34"), "USD", "GBP") and after != before
    # The members' personal books and settings are not the shared book's.
    user.refresh_from_db()
    assert user.base_currency == "USD" and user.personal_book.base_currency == "USD"
    assert _figures(user) == personal
    # Every member now sees the book's figures in GBP.
    budget = client_for(other_user).get(f"/api/v1/books/{book.pk}/budgets/").json()
    assert budget["results"][0]["amount"] == str(_fresh(Decimal("500"), "USD", "GBP"))
    # Back to USD: from the originals, so nothing drifted.
    assert _book_patch(auth_client, book, {"base_currency": "USD"}).status_code == 200
    restored = _book_figures(book)
    assert restored["budgets"] == [Decimal("500")]
    assert restored["goals"][0][0] == Decimal("3000")


def test_only_an_owner_changes_a_books_currency_and_a_missing_rate_changes_nothing(
    auth_client, user, other_user, client_for, shared_book
):
    from users.tests.factories import UserFactory

    viewer, outsider = UserFactory(), UserFactory()
    book = shared_book(owner=user, editors=[other_user], viewers=[viewer], base_currency="USD")
    _book_account(book, user)
    before = _book_figures(book)
    for member in (other_user, viewer):
        refused = _book_patch(client_for(member), book, {"base_currency": "GBP"})
        assert refused.status_code == 403, refused.content
    assert _book_patch(client_for(outsider), book, {"base_currency": "GBP"}).status_code == 404
    # No rates at all: 400 naming the pair, and the book keeps its currency and figures.
    response = _book_patch(auth_client, book, {"base_currency": "CHF", "name": "Renamed"})
    assert response.status_code == 400 and response.json()["code"] == "rate_unavailable"
    book.refresh_from_db()
    assert (book.base_currency, book.name) == ("USD", "Household")
    assert _book_figures(book) == before
    # A personal book's currency is the account's.
    personal = _book_patch(auth_client, user.personal_book, {"base_currency": "GBP"})
    assert personal.status_code == 400 and personal.json()["code"] == "personal_book"


def test_a_big_shared_book_changes_on_the_queue_exactly_as_inline(
    auth_client,
    user,
    other_user,
    client_for,
    shared_book,
    settings,
    django_capture_on_commit_callbacks,
):
    _rates()
    big = shared_book(owner=user, editors=[other_user], name="Big", base_currency="USD")
    twin = shared_book(owner=user, name="Twin", base_currency="USD")
    _book_account(big, other_user)
    _book_account(twin, user)
    settings.BASE_CURRENCY_SYNC_MAX_ROWS = 5
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = _book_patch(auth_client, big, {"base_currency": "GBP", "month_start_day": 5})
        assert response.status_code == 202, response.content
        body = response.json()
        # The other settings apply now; the currency once the queued change is done.
        assert (body["month_start_day"], body["base_currency"]) == (5, "USD")
        change = body["base_currency_change"]
        assert (change["status"], change["from_currency"], change["to_currency"]) == (
            "queued",
            "USD",
            "GBP",
        )
    assert len(queued) == 1
    # Every member sees the change's state on the book, in the list too.
    for client in (auth_client, client_for(other_user)):
        shown = client.get(f"/api/v1/books/{big.pk}/").json()
        assert shown["base_currency"] == "GBP"
        assert shown["base_currency_change"]["id"] == change["id"]
        assert shown["base_currency_change"]["status"] == "done"
    listed = {row["id"]: row for row in auth_client.get("/api/v1/books/").json()["results"]}
    assert listed[big.pk]["base_currency_change"]["status"] == "done"
    assert listed[twin.pk]["base_currency_change"] is None
    # The owner's personal book has no change of its own.
    assert auth_client.get("/api/v1/auth/me/").json()["base_currency_change"] is None

    settings.BASE_CURRENCY_SYNC_MAX_ROWS = 1000
    assert _book_patch(auth_client, twin, {"base_currency": "GBP"}).status_code == 200
    assert _book_figures(big) == _book_figures(twin)
    assert _book_figures(big)["expenses"][0][1] != Decimal(1)


def test_a_second_change_of_a_shared_book_while_one_is_queued_is_a_409(
    auth_client, user, shared_book, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from users import services
    from users.models import BaseCurrencyChange
    from users.tasks import base_currency_change_task

    _rates()
    book = shared_book(owner=user, base_currency="USD")
    _book_account(book, user)
    settings.BASE_CURRENCY_SYNC_MAX_ROWS = 5
    handed: list[int] = []
    monkeypatch.setattr(base_currency_change_task, "delay", handed.append)
    with django_capture_on_commit_callbacks(execute=True):
        first = _book_patch(auth_client, book, {"base_currency": "GBP"})
    assert first.status_code == 202
    change_id = first.json()["base_currency_change"]["id"]
    assert handed == [change_id]

    refused = _book_patch(auth_client, book, {"base_currency": "JPY", "name": "X"})
    assert refused.status_code == 409, refused.content
    assert refused.json()["code"] == "base_currency_change_in_progress"
    assert "GBP" in refused.json()["detail"] and int(refused["Retry-After"]) > 0
    book.refresh_from_db()
    assert (book.name, book.base_currency) == ("Household", "USD")  # nothing of it applied
    # The pending currency again is the same request; other settings apply at once.
    again = _book_patch(auth_client, book, {"base_currency": "GBP"})
    assert again.status_code == 202 and again.json()["base_currency_change"]["id"] == change_id
    renamed = _book_patch(auth_client, book, {"name": "Flat"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Flat"
    # The personal book is another book: its own change is not held up.
    assert _patch(auth_client, "JPY").status_code == 200
    assert BaseCurrencyChange.objects.filter(book=book).count() == 1

    services.base_currency_change_run(change_id=change_id)
    converted = _book_figures(book)
    services.base_currency_change_run(change_id=change_id)  # delivered twice: once
    assert _book_figures(book) == converted
    book.refresh_from_db()
    assert book.base_currency == "GBP"
    assert Budget.objects.get(book=book).amount == _fresh(Decimal("500"), "USD", "GBP")
    user.refresh_from_db()
    assert user.base_currency == "JPY"  # the shared book's change is not the owner's


def test_listing_books_with_their_changes_takes_constant_queries(auth_client, user, shared_book):
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    from users.models import BaseCurrencyChange

    def count() -> int:
        with CaptureQueriesContext(db) as queries:
            assert auth_client.get("/api/v1/books/").status_code == 200
        return len(queries)

    book = shared_book(owner=user)
    BaseCurrencyChange.objects.create(book=book, user=user, from_currency="USD", to_currency="GBP")
    one = count()
    for i in range(9):
        other = shared_book(owner=user, name=f"B{i}")
        BaseCurrencyChange.objects.create(
            book=other, user=user, from_currency="USD", to_currency="GBP", status="done"
        )
    assert count() == one


@pytest.mark.django_db(transaction=True)
def test_writes_into_a_book_during_its_held_change_answer_409_other_books_do_not(
    client_for, settings
):
    import threading

    from django.db import transaction

    from books.services import book_create
    from users.base_currency import base_currency_change_lock
    from users.tests.factories import UserFactory

    require_postgresql()
    settings.BASE_CURRENCY_LOCK_WAIT_SECONDS = 1
    user = UserFactory(base_currency="USD")
    book = book_create(user=user, name="Household")
    client = client_for(user)
    held, release = threading.Event(), threading.Event()

    def change_in_progress() -> None:
        try:
            with transaction.atomic():
                base_currency_change_lock(book_id=book.pk)
                held.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=change_in_progress)
    holder.start()
    assert held.wait(10)
    body = {"amount": "1", "date": "2026-02-02", "description": "n"}
    budget = {"month": "2026-04", "scope": "overall", "amount": "50"}
    try:
        for path, data in (("expenses", body), ("budgets", budget)):
            inside = client.post(f"/api/v1/books/{book.pk}/{path}/", data, format="json")
            assert inside.status_code == 409, inside.content
            assert inside.json()["code"] == "base_currency_change_in_progress"
            # The personal book is not held by the shared book's change.
            outside = client.post(f"/api/v1/{path}/", data, format="json")
            assert outside.status_code == 201, outside.content
        changed = client.patch(f"/api/v1/books/{book.pk}/", {"base_currency": "GBP"})
        assert changed.status_code == 409, changed.content
        renamed = client.patch(f"/api/v1/books/{book.pk}/", {"name": "Late"})
        assert renamed.status_code == 200, renamed.content
    finally:
        release.set()
        holder.join()
    assert not Expense.objects.filter(book=book).exists()
    response = client.post(f"/api/v1/books/{book.pk}/expenses/", body, format="json")
    assert response.status_code == 201, response.content
