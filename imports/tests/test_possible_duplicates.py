"""Possible duplicates against records entered by hand (SPEC §11): shown in the preview,
skipped on commit unless kept; never silently doubled, never silently dropped."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from expenses.models import Expense
from expenses.tests.factories import ExpenseFactory
from imports import duplicates
from imports.models import ImportBatch
from income.models import Income
from income.tests.factories import IncomeFactory
from tests.fuzz_depth import examples

pytestmark = pytest.mark.django_db

URL = "/api/v1/imports/"
HEADER = "Date,Description,Payee,Amount\n"


def csv_bytes(*lines: str) -> bytes:
    return (HEADER + "\n".join(lines) + "\n").encode()


def preview(client, content: bytes) -> dict:
    response = client.post(URL, {"file": SimpleUploadedFile("s.csv", content)}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def commit(client, batch_id: int, **body):
    return client.post(f"{URL}{batch_id}/commit/", body, format="json")


def by_line(batch: dict) -> dict[int, dict]:
    return {row["line"]: row for row in batch["rows"]}


def hand_expense(user, **kwargs):
    kwargs.setdefault("amount", Decimal("42.50"))
    kwargs.setdefault("date", date(2026, 3, 10))
    kwargs.setdefault("description", "Tesco")
    return ExpenseFactory(user=user, **kwargs)


# --- preview ------------------------------------------------------------------------------


def test_a_row_matching_a_hand_entered_expense_is_shown_as_possible_duplicate(auth_client, user):
    record = hand_expense(user, description="Groceries", merchant="Tesco")
    batch = preview(
        auth_client,
        csv_bytes(
            "2026-03-12,CARD 4431 TESCO STORES 2231,,-42.50",  # 2 days later, similar text
            "2026-03-12,Rent,,-900.00",
        ),
    )
    rows = by_line(batch)
    assert rows[2]["possible_duplicate"] == {"id": record.pk, "kind": "expense"}
    assert rows[2]["duplicate"] is False
    assert rows[3]["possible_duplicate"] is None
    assert (batch["total_rows"], batch["new_rows"]) == (2, 1)
    assert (batch["duplicate_rows"], batch["possible_duplicate_rows"]) == (0, 1)
    listed = auth_client.get(URL).json()["results"][0]
    assert listed["possible_duplicate_rows"] == 1


def test_income_rows_match_income_by_payer_and_never_an_expense(auth_client, user):
    income = IncomeFactory(
        user=user,
        amount=Decimal("2500.00"),
        date=date(2026, 3, 1),
        description="Salary",
        source="ACME Corp",
    )
    ExpenseFactory(user=user, amount=Decimal("2500.00"), date=date(2026, 3, 1), description="Acme")
    batch = preview(
        auth_client,
        csv_bytes("2026-02-28,SEPA CREDIT,ACME CORP LTD,2500.00", "2026-03-01,ACME,,-7.00"),
    )
    rows = by_line(batch)
    assert rows[2]["possible_duplicate"] == {"id": income.pk, "kind": "income"}
    assert rows[3]["possible_duplicate"] is None  # 7.00 matches nothing


@pytest.mark.parametrize(
    ("record", "why"),
    [
        ({"amount": Decimal("42.51")}, "another amount"),
        ({"currency": "EUR"}, "another currency"),
        ({"date": date(2026, 3, 6)}, "4 days before"),
        ({"date": date(2026, 3, 14)}, "4 days after"),
        ({"description": "Cinema tickets"}, "dissimilar text"),
        ({"import_key": "k" * 40}, "created by an import"),
        ({"import_fitid": "FIT-1"}, "created by an import (FITID)"),
    ],
)
def test_what_is_not_a_possible_duplicate(auth_client, user, record, why):
    hand_expense(user, **record)
    batch = preview(auth_client, csv_bytes("2026-03-10,TESCO STORES,,-42.50"))
    assert batch["rows"][0]["possible_duplicate"] is None, why
    assert batch["possible_duplicate_rows"] == 0


@pytest.mark.parametrize("days", [-3, -1, 0, 1, 3])
def test_the_window_is_three_days_either_way(auth_client, user, days):
    hand_expense(user, date=date(2026, 3, 10) + timedelta(days=days), amount=Decimal("42.5"))
    batch = preview(auth_client, csv_bytes("2026-03-10,Tesco,,-42.5000"))
    assert batch["rows"][0]["possible_duplicate"] is not None


def test_one_record_is_claimed_by_one_row_the_nearest_in_date(auth_client, user):
    record = hand_expense(user, description="Coffee", amount=Decimal("3.50"))
    batch = preview(
        auth_client,
        csv_bytes(
            "2026-03-13,Coffee,,-3.50",  # 3 days away
            "2026-03-11,Coffee,,-3.50",  # 1 day away: claims the record
            "2026-03-11,Coffee,,-3.50",  # same distance, later line: stays new
        ),
    )
    flagged = [row["line"] for row in batch["rows"] if row["possible_duplicate"]]
    assert flagged == [3]
    assert by_line(batch)[3]["possible_duplicate"]["id"] == record.pk
    assert batch["new_rows"] == 2


def test_two_records_two_rows_each_claims_its_own(auth_client, user):
    first = hand_expense(user, description="Coffee", amount=Decimal("3.50"))
    second = hand_expense(user, description="Coffee", amount=Decimal("3.50"))
    batch = preview(auth_client, csv_bytes("2026-03-10,Coffee,,-3.50", "2026-03-10,Coffee,,-3.50"))
    claimed = sorted(row["possible_duplicate"]["id"] for row in batch["rows"])
    assert claimed == sorted([first.pk, second.pk])


def test_exact_duplicates_are_not_reported_as_possible_ones(auth_client, user):
    content = csv_bytes("2026-03-10,Tesco,,-42.50")
    assert commit(auth_client, preview(auth_client, content)["id"]).json()["expenses"] == 1
    again = preview(auth_client, content)
    row = again["rows"][0]
    assert (row["duplicate"], row["possible_duplicate"]) == (True, None)
    assert (again["duplicate_rows"], again["possible_duplicate_rows"]) == (1, 0)


def test_preview_queries_do_not_grow_with_rows(auth_client, user):
    for day in range(1, 28):
        hand_expense(user, date=date(2026, 3, day), description=f"Shop {day}")

    def queries(count: int) -> int:
        content = csv_bytes(
            *(f"2026-03-{1 + i % 27:02d},Shop {1 + i % 27},,-42.50" for i in range(count))
        )
        with CaptureQueriesContext(connection) as captured:
            preview(auth_client, content)
        return len(captured)

    assert queries(300) == queries(3)


# --- commit -------------------------------------------------------------------------------


def test_commit_skips_possible_duplicates_and_counts_them(auth_client, user):
    record = hand_expense(user)
    batch = preview(auth_client, csv_bytes("2026-03-10,Tesco,,-42.50", "2026-03-10,Rent,,-900"))
    result = commit(auth_client, batch["id"])
    assert result.status_code == 200, result.content
    assert result.json() == {
        "expenses": 1,
        "incomes": 0,
        "duplicates_skipped": 0,
        "possible_duplicates_skipped": 1,
        "kept": 0,
        "errors_skipped": 0,
    }
    assert list(Expense.objects.filter(user=user).order_by("pk").values_list("pk", flat=True)) == [
        record.pk,
        Expense.objects.get(user=user, description="Rent").pk,
    ]


def test_keep_lines_stores_a_possible_duplicate(auth_client, user):
    hand_expense(user)
    batch = preview(auth_client, csv_bytes("2026-03-10,Tesco,,-42.50", "2026-03-10,Rent,,-900"))
    result = commit(auth_client, batch["id"], keep_lines=[2])
    assert result.status_code == 200, result.content
    assert (result.json()["kept"], result.json()["possible_duplicates_skipped"]) == (1, 0)
    assert Expense.objects.filter(user=user, amount=Decimal("42.50")).count() == 2
    stored = ImportBatch.objects.get(pk=batch["id"])
    assert (stored.new_rows, stored.possible_duplicate_rows, stored.keep_lines) == (2, 1, [2])


def test_keep_lines_must_name_rows_of_the_import(auth_client, user):
    hand_expense(user)
    batch = preview(auth_client, csv_bytes("2026-03-10,Tesco,,-42.50"))
    for bad in ([99], [0], ["x"], 5):
        response = commit(auth_client, batch["id"], keep_lines=bad)
        assert response.status_code == 400, (bad, response.content)
        assert "keep_lines" in response.json()
    assert ImportBatch.objects.get(pk=batch["id"]).status == "preview"
    assert Expense.objects.filter(user=user).count() == 1


def test_a_record_entered_after_the_preview_is_caught_at_commit(auth_client, user):
    batch = preview(auth_client, csv_bytes("2026-03-10,Tesco,,-42.50"))
    assert batch["possible_duplicate_rows"] == 0
    hand_expense(user)  # typed in by hand while the preview was open
    result = commit(auth_client, batch["id"]).json()
    assert (result["expenses"], result["possible_duplicates_skipped"]) == (0, 1)


def test_a_record_deleted_after_the_preview_no_longer_blocks_the_row(auth_client, user):
    record = hand_expense(user)
    batch = preview(auth_client, csv_bytes("2026-03-10,Tesco,,-42.50"))
    assert batch["possible_duplicate_rows"] == 1
    record.delete()
    result = commit(auth_client, batch["id"]).json()
    assert (result["expenses"], result["possible_duplicates_skipped"]) == (1, 0)
    assert Expense.objects.filter(user=user).count() == 1


def test_a_queued_commit_honours_keep_lines(
    auth_client, user, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_ASYNC_ROWS = 2
    hand_expense(user)
    hand_expense(user, description="Rent", amount=Decimal("900"))
    batch = preview(
        auth_client,
        csv_bytes("2026-03-10,Tesco,,-42.50", "2026-03-10,Rent,,-900", "2026-03-10,Gas,,-60"),
    )
    assert batch["possible_duplicate_rows"] == 2
    with django_capture_on_commit_callbacks(execute=True):
        response = commit(auth_client, batch["id"], keep_lines=[3])
    assert response.status_code == 202, response.content
    done = ImportBatch.objects.get(pk=batch["id"])
    assert (done.status, done.new_rows, done.keep_lines) == ("committed", 2, [3])
    assert Expense.objects.filter(user=user, import_batch=done).count() == 2
    assert not Expense.objects.filter(import_batch=done, description="Tesco").exists()


def test_every_row_is_accounted_for(auth_client, user):
    """Stored + exact duplicates + possible duplicates skipped = rows: nothing vanishes."""
    hand_expense(user)
    IncomeFactory(user=user, amount=Decimal("10.00"), date=date(2026, 3, 9), description="Refund")
    first = preview(auth_client, csv_bytes("2026-03-01,Lunch,,-12.00"))
    commit(auth_client, first["id"])
    content = csv_bytes(
        "2026-03-01,Lunch,,-12.00",  # exact duplicate
        "2026-03-10,Tesco,,-42.50",  # possible duplicate
        "2026-03-10,REFUND 123,,10.00",  # possible duplicate (income)
        "2026-03-11,Tesco,,-42.50",  # same again: the record is already claimed → new
        "2026-03-11,Fuel,,-70.00",  # new
    )
    batch = preview(auth_client, content)
    before = Expense.objects.filter(user=user).count() + Income.objects.filter(user=user).count()
    result = commit(auth_client, batch["id"]).json()
    after = Expense.objects.filter(user=user).count() + Income.objects.filter(user=user).count()
    stored = result["expenses"] + result["incomes"]
    assert stored == after - before == 2
    assert stored + result["duplicates_skipped"] + result["possible_duplicates_skipped"] == 5


# --- the matching rule on its own -----------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "similar"),
    [
        ("Tesco", "CARD 1234 TESCO STORES LONDON", True),
        ("Café Nero", "CAFE NERO 0231", True),
        ("Starbucks", "STARBUCKS COFFEE #123", True),
        ("Netflix", "NETFLIX.COM", True),
        ("Amazon Marketplace", "AMAZON MKTPLACE", True),  # SequenceMatcher
        ("Coffee", "Rent", False),
        ("Shell fuel", "Cinema tickets", False),
        ("1234", "1234", False),  # numbers alone say nothing
    ],
)
def test_similarity(a, b, similar):
    score = duplicates.similarity(duplicates._Text.of(a), duplicates._Text.of(b))
    assert (score >= duplicates.SIMILARITY) is similar, score


KINDS = st.sampled_from(["expense", "income"])
AMOUNTS = st.sampled_from(["1.00", "2.50", "2.5", "10"])
CURRENCIES = st.sampled_from(["USD", "EUR"])
TEXTS = st.sampled_from(["Coffee", "COFFEE SHOP 12", "Rent", "Tesco", "tesco stores", "Fuel"])
DAYS = st.integers(min_value=0, max_value=12)
START = date(2026, 1, 1)


@hsettings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.tuples(KINDS, AMOUNTS, CURRENCIES, TEXTS, DAYS), max_size=12),
    records=st.lists(st.tuples(KINDS, AMOUNTS, CURRENCIES, TEXTS, DAYS), max_size=12),
)
def test_matching_is_a_maximal_one_to_one_matching_of_qualifying_pairs(rows, records):
    row_dicts = [
        {
            "line": i + 2,
            "kind": kind,
            "amount": amount,
            "currency": currency,
            "description": text,
            "merchant": "",
            "date": (START + timedelta(days=day)).isoformat(),
        }
        for i, (kind, amount, currency, text, day) in enumerate(rows)
    ]
    stored = {
        kind: [
            (i + 1, START + timedelta(days=day), Decimal(amount), currency, text, "")
            for i, (k, amount, currency, text, day) in enumerate(records)
            if k == kind
        ]
        for kind in ("expense", "income")
    }

    def qualifies(row: dict, kind: str, record: tuple) -> bool:
        _, day, amount, currency, text, _ = record
        return (
            row["kind"] == kind
            and row["currency"] == currency
            and Decimal(row["amount"]) == amount
            and abs((date.fromisoformat(row["date"]) - day).days) <= duplicates.WINDOW_DAYS
            and duplicates._Record.of(kind, 0, day, text, "").similarity(
                duplicates._Text.of(row["description"])
            )
            >= duplicates.SIMILARITY
        )

    found = duplicates.match(row_dicts, {k: iter(v) for k, v in stored.items()})
    # deterministic
    assert found == duplicates.match(row_dicts, {k: iter(v) for k, v in stored.items()})
    # one record per row, one row per record, and every pair qualifies
    assert len(set(found.values())) == len(found)
    index = {(kind, rec[0]): rec for kind, recs in stored.items() for rec in recs}
    for row_index, (kind, record_id) in found.items():
        assert qualifies(row_dicts[row_index], kind, index[(kind, record_id)])
    # maximal: no unflagged row qualifies against an unclaimed record
    claimed = set(found.values())
    for row_index, row in enumerate(row_dicts):
        if row_index in found:
            continue
        for key, record in index.items():
            assert key in claimed or not qualifies(row, key[0], record)
