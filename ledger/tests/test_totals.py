"""The day totals (ledger/totals.py) against the records they sum, on both databases.

- Random writes of every kind the code uses (one-by-one saves, bulk_create, queryset
  update and delete, cascades) leave the totals equal to a plain scan of the records
  (`totals.verify`), and every report answers the same from the totals as from the
  records (REPORTS_FROM_TOTALS off), for budget months starting on the 1st and later.
- On PostgreSQL, many writers at once on the same days and categories (multi-row
  transactions in opposite orders) neither deadlock nor lose a count.
- `manage.py totals verify` finds a damaged total and `rebuild` repairs it.
- The migration fills the totals of records written before it.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from books.models import Book
from budgets.models import Budget, Scope
from budgets.selectors import budget_status
from categories.models import Kind
from categories.tests.factories import CategoryFactory
from expenses.models import Expense
from income.models import Income
from ledger import totals
from ledger.models import DayMerchantTotal, DayTotal
from reports import services as reports
from tests.concurrency import require_postgresql, run_concurrently
from tests.fuzz_depth import examples

FIRST_DAY = date(2026, 1, 20)
CURRENCIES = ("USD", "EUR", "JPY")
MERCHANTS = ("", "", "Shop", "shop", "SHOP", "Café", "Market")


class Rollback(Exception):
    """Ends an example's transaction: the next example starts from the same database."""


record = st.fixed_dictionaries(
    {
        "income": st.booleans(),
        "day": st.integers(0, 75),
        "category": st.one_of(st.none(), st.integers(0, 2)),
        "currency": st.sampled_from(CURRENCIES),
        "cents": st.integers(1, 10**8),
        "rate": st.sampled_from([Decimal(1), Decimal("0.5"), Decimal("1.3333")]),
        "merchant": st.sampled_from(MERCHANTS),
    }
)
change = st.fixed_dictionaries(
    {
        "target": st.integers(0, 200),
        "how": st.sampled_from(
            ["save", "delete", "move_day", "recategorize_all", "rebase_all", "delete_day"]
        ),
        "value": st.integers(0, 75),
    }
)


def _make(book, user, categories, spec):
    model = Income if spec["income"] else Expense
    amount = Decimal(spec["cents"]) / 100
    fields = {
        "book": book,
        "user": user,
        "amount": amount,
        "currency": spec["currency"],
        "exchange_rate": spec["rate"],
        "base_amount": (amount * spec["rate"]).quantize(Decimal("0.0001")),
        "date": FIRST_DAY + timedelta(days=spec["day"]),
        "description": "record",
        "category": None if spec["category"] is None else categories[model][spec["category"]],
    }
    if model is Expense:
        fields["merchant"] = spec["merchant"]
    return model(**fields)


def _apply(book, user, categories, records, changes, bulk):
    """Writes the records (half by bulk_create when `bulk`) then the changes."""
    made = []
    for i, spec in enumerate(records):
        instance = _make(book, user, categories, spec)
        if not (bulk and i % 2):
            instance.save()
            made.append(instance)
    if bulk:
        for model in (Expense, Income):
            batch = [
                _make(book, user, categories, spec)
                for i, spec in enumerate(records)
                if i % 2 and (Income if spec["income"] else Expense) is model
            ]
            made += model.objects.bulk_create(batch)
    for step in changes:
        if not made:
            break
        target = made[step["target"] % len(made)]
        model = type(target)
        day = FIRST_DAY + timedelta(days=step["value"])
        if step["how"] == "save":
            target.amount = Decimal(step["value"] + 1)
            target.base_amount = Decimal(step["value"] + 2)
            target.category = categories[model][step["value"] % 3]
            if model is Expense:
                target.merchant = MERCHANTS[step["value"] % len(MERCHANTS)]
            target.save()
        elif step["how"] == "delete":
            target.delete()
            made.remove(target)
        elif step["how"] == "move_day":
            model.objects.filter(pk=target.pk).update(date=day, currency="GBP")
        elif step["how"] == "recategorize_all":
            model.objects.filter(book=book, date__lte=day).update(
                category=categories[model][step["value"] % 3]
            )
        elif step["how"] == "rebase_all":
            model.objects.filter(book=book).update(base_amount=Decimal(step["value"]) / 7)
        elif step["how"] == "delete_day":
            model.objects.filter(book=book, date__gte=day).delete()
            made = [m for m in made if (m.pk and m.date < day) or type(m) is not model]


def _every_report(book) -> dict:
    """Every report whose figures come from the totals, as plain data."""
    book.refresh_from_db()
    last = FIRST_DAY + timedelta(days=75)
    data = {
        "summary": reports.summary(book=book, start=FIRST_DAY + timedelta(days=3), end=last),
        "monthly": reports.monthly(book=book, year=2026),
        "trends": reports.trends(book=book, year=2026, month=3),
        "dashboard": reports.dashboard(book=book, today=date(2026, 3, 25)),
        "budgets": budget_status(book=book, year=2026, month=3),
    }
    for bucket in reports.BUCKETS:
        for kind in reports.KINDS:
            data[f"{bucket}-{kind}"] = reports.timeseries(
                book=book, start=FIRST_DAY + timedelta(days=5), end=last, bucket=bucket, kind=kind
            )
    return data


def _budgets(book, user, categories):
    Budget.objects.create(
        book=book,
        user=user,
        month=date(2026, 3, 1),
        scope=Scope.CATEGORY,
        category=categories[Expense][0],
        amount=Decimal("500"),
        amount_original=Decimal("500"),
        currency_original=book.base_currency,
    )
    Budget.objects.create(
        book=book,
        user=user,
        month=date(2026, 3, 1),
        scope=Scope.OVERALL,
        amount=Decimal("900"),
        amount_original=Decimal("900"),
        currency_original=book.base_currency,
    )


@pytest.fixture
def ledger_world(user):
    book = user.personal_book
    categories = {
        Expense: [CategoryFactory(user=user, kind=Kind.EXPENSE) for _ in range(3)],
        Income: [CategoryFactory(user=user, kind=Kind.INCOME) for _ in range(3)],
    }
    _budgets(book, user, categories)
    return book, user, categories


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    records=st.lists(record, max_size=40),
    changes=st.lists(change, max_size=12),
    bulk=st.booleans(),
    start_day=st.sampled_from([1, 1, 15, 28]),
)
def test_totals_equal_a_scan_of_the_records_and_reports_agree(
    ledger_world, records, changes, bulk, start_day
):
    book, user, categories = ledger_world
    try:
        with transaction.atomic():
            Book.objects.filter(pk=book.pk).update(month_start_day=start_day)
            _apply(book, user, categories, records, changes, bulk)
            assert totals.verify() == []
            with override_settings(REPORTS_FROM_TOTALS=True):
                from_totals = _every_report(book)
            with override_settings(REPORTS_FROM_TOTALS=False):
                from_records = _every_report(book)
            assert from_totals == from_records
            raise Rollback
    except Rollback:
        pass


@pytest.mark.django_db
def test_a_deleted_book_leaves_no_totals_and_other_books_keep_theirs(user, other_user):
    mine, theirs = user.personal_book, other_user.personal_book
    for book, owner in ((mine, user), (theirs, other_user)):
        for day in range(5):
            Expense.objects.create(
                book=book,
                user=owner,
                amount=Decimal("3.10"),
                currency="USD",
                base_amount=Decimal("3.10"),
                date=FIRST_DAY + timedelta(days=day),
                description="x",
                merchant="Shop",
            )
    assert DayTotal.objects.filter(book=mine).count() == 5
    Expense.objects.filter(book=mine).delete()
    assert not DayTotal.objects.filter(book=mine).exists()
    assert not DayMerchantTotal.objects.filter(book=mine).exists()
    assert DayTotal.objects.filter(book=theirs).count() == 5
    assert totals.verify() == []


@pytest.mark.django_db
def test_verify_reports_a_damaged_total_and_rebuild_repairs_it(user, capsys):
    book = user.personal_book
    for cents in (1234, 99, 50000):
        Expense.objects.create(
            book=book,
            user=user,
            amount=Decimal(cents) / 100,
            currency="USD",
            base_amount=Decimal(cents) / 100,
            date=FIRST_DAY,
            description="x",
            merchant="Shop",
        )
    call_command("totals", "verify")
    assert "match the records" in capsys.readouterr().out
    DayTotal.objects.filter(book=book).update(base_total=Decimal("1"), record_count=7)
    DayMerchantTotal.objects.filter(book=book).delete()
    with pytest.raises(CommandError, match="2 totals of book"):
        call_command("totals", "verify", "--book", str(book.pk))
    out = capsys.readouterr().out
    assert "ledger_daytotal" in out and "ledger_daymerchanttotal" in out
    call_command("totals", "rebuild", "--book", str(book.pk))
    assert totals.verify() == []
    row = DayTotal.objects.get(book=book)
    assert (row.record_count, row.base_total) == (3, Decimal("513.33"))


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_on_the_same_days_neither_deadlock_nor_lose_counts(user):
    require_postgresql()
    book = user.personal_book
    categories = [CategoryFactory(user=user, kind=Kind.EXPENSE) for _ in range(2)] + [None]
    days = [FIRST_DAY + timedelta(days=i) for i in range(3)]

    def work(i: int) -> None:
        rng = random.Random(i)
        for _round in range(6):
            with transaction.atomic():
                # Opposite orders in alternate threads: two transactions each holding
                # one total the other needs is how a naive trigger deadlocks.
                keys = [(day, cat) for day in days for cat in categories]
                if i % 2:
                    keys.reverse()
                Expense.objects.bulk_create(
                    Expense(
                        book=book,
                        user=user,
                        amount=Decimal(rng.randint(1, 10_000)) / 100,
                        currency="USD",
                        base_amount=Decimal(rng.randint(1, 10_000)) / 100,
                        date=day,
                        category=cat,
                        description="race",
                        merchant=rng.choice(MERCHANTS),
                    )
                    for day, cat in keys
                )
            with transaction.atomic():
                mine = Expense.objects.filter(book=book, description="race").order_by("?")[:3]
                Expense.objects.filter(pk__in=[e.pk for e in mine]).update(
                    category=rng.choice(categories), date=rng.choice(days)
                )
            Expense.objects.filter(
                pk__in=Expense.objects.filter(book=book).order_by("?").values("pk")[:2]
            ).delete()

    _, errors = run_concurrently(work, threads=6)
    assert errors == []
    assert totals.verify() == []
    stored = sum(DayTotal.objects.filter(book=book).values_list("record_count", flat=True))
    assert stored == Expense.objects.filter(book=book).count() > 0


# --- the migration fills the totals of older records ---------------------------------------------

BEFORE = [
    ("expenses", "0011_balance_indexes"),
    ("income", "0009_suggested_category"),
    ("ledger", None),
]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([t for t in targets if t[1]]).apps


@pytest.mark.django_db(transaction=True)
def test_the_migration_totals_the_records_written_before_it(user):
    old = _migrate(BEFORE)
    Expense_ = old.get_model("expenses", "Expense")
    Income_ = old.get_model("income", "Income")
    common = {"book_id": user.personal_book.pk, "user_id": user.pk, "description": "old"}
    for cents, day, merchant in ((500, 1, "Shop"), (250, 1, "shop"), (1999, 2, "")):
        amount = Decimal(cents) / 100
        Expense_.objects.create(
            amount=amount,
            currency="EUR",
            base_amount=amount * 2,
            date=FIRST_DAY + timedelta(days=day),
            merchant=merchant,
            **common,
        )
    Income_.objects.create(
        amount=Decimal("1000"),
        currency="USD",
        base_amount=Decimal("1000"),
        date=FIRST_DAY,
        **common,
    )
    executor = MigrationExecutor(connection)
    _migrate(executor.loader.graph.leaf_nodes())

    assert totals.verify() == []
    rows = {
        (row.kind, row.day, row.currency): (row.record_count, row.amount_total, row.base_total)
        for row in DayTotal.objects.all()
    }
    assert rows == {
        ("expense", FIRST_DAY + timedelta(days=1), "EUR"): (2, Decimal("7.5"), Decimal("15")),
        ("expense", FIRST_DAY + timedelta(days=2), "EUR"): (1, Decimal("19.99"), Decimal("39.98")),
        ("income", FIRST_DAY, "USD"): (1, Decimal("1000"), Decimal("1000")),
    }
    assert sorted(DayMerchantTotal.objects.values_list("merchant", "record_count")) == [
        ("Shop", 1),
        ("shop", 1),
    ]
    # Written after the migration: the triggers count it.
    Expense.objects.create(
        amount=Decimal("1"),
        currency="EUR",
        base_amount=Decimal("2"),
        date=FIRST_DAY,
        **common,
    )
    assert totals.verify() == []
