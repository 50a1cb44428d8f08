"""The fast paths of a big import (issue 19): COPY on PostgreSQL stores what bulk_create
stores, undo deletes a batch set-based (exactly its records and what hangs off them),
the compact stored form of a preview's rows, and the memoised checks give the answers
the row-by-row ones gave."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from ai.models import Anomaly, AnomalyKind
from categories.models import Category, Kind
from categories.tests.factories import CategoryFactory, RuleFactory, TagFactory
from currencies.models import ExchangeRate
from expenses.models import Expense
from expenses.tests.factories import ExpenseFactory
from imports import rowstore, services
from imports.models import PREVIEW_ROWS_SHOWN, ImportBatch
from imports.parsers.base import CsvOptions, ParsedRow
from imports.parsers.csv_parser import parse_csv
from income.models import Income
from ledger import services as ledger
from recurring.models import RecurringOccurrence
from recurring.tests.factories import RecurringItemFactory
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/imports/"
needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the COPY path runs on PostgreSQL only"
)


def upload(client, text: str) -> dict[str, Any]:
    file = SimpleUploadedFile("statement.csv", text.encode(), content_type="text/csv")
    response = client.post(URL, {"file": file}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def commit(client, batch_id: int) -> None:
    response = client.post(f"{URL}{batch_id}/commit/", {}, format="json")
    assert response.status_code in (200, 202), response.content


def statement(*lines: str) -> str:
    return "Date,Description,Amount\n" + "\n".join(lines) + "\n"


# --- COPY (PostgreSQL) and bulk_create store the same records ------------------------------


def import_into(user, *, spy: list[str]) -> tuple[ImportBatch, Category]:
    """Rows of every kind `transactions_bulk_import` handles, imported into `user`'s book:
    foreign currency (rounded base amounts), a rule's category and tags, a suggestion
    kept and one dropped (not the book's), FITIDs, and text COPY must escape."""
    book = user.personal_book
    tag = TagFactory(user=user, name="caffeine")
    RuleFactory(
        user=user,
        value="coffee",
        add_tags=[tag],
        category=CategoryFactory(user=user, name="Drinks"),
    )
    own = CategoryFactory(user=user, name="Treats")
    foreign = CategoryFactory(user=UserFactory(), name="Someone else's")
    batch = ImportBatch.objects.create(book=book, user=user, format="csv", default_currency="USD")
    expense_rows = [
        row(Decimal("12.35"), "EUR", "Coffee in Paris", "Café de Flore", fitid="T1"),
        row(Decimal("3.10"), "USD", "Back\\slash\ttab\nnew line\rcr", "Shop\t1"),
        row(Decimal("0.01"), "EUR", "Tiny", "", suggested=(own.pk, "0.870")),
        row(Decimal("999999999999"), "USD", "Largest", "", suggested=(foreign.pk, "0.990")),
        row(Decimal("7.5"), "USD", "Ünïcödé ☕ coffee", "Bäckerei"),
    ]
    income_rows = [row(Decimal("2500"), "USD", "Salary", "Employer", fitid="T2")]
    real_copy = ledger._copy_rows

    def watched(*args: Any) -> list[int]:
        spy.append("copy")
        return real_copy(*args)

    ledger._copy_rows = watched  # restored by the caller's monkeypatch
    ledger.transactions_bulk_import(
        model=Expense,
        kind=Kind.EXPENSE,
        book=book,
        user=user,
        rows=expense_rows,
        text_field="merchant",
        import_batch=batch,
    )
    ledger.transactions_bulk_import(
        model=Income,
        kind=Kind.INCOME,
        book=book,
        user=user,
        rows=income_rows,
        text_field="source",
        import_batch=batch,
    )
    return batch, own


def row(
    amount: Decimal,
    currency: str,
    description: str,
    text: str,
    *,
    fitid: str = "",
    suggested: tuple[int, str] | None = None,
) -> dict[str, Any]:
    day = date(2024, 3, 5)
    return {
        "amount": amount,
        "currency": currency,
        "date": day,
        "description": description,
        "text": text,
        "fitid": fitid,
        "key": services.row_key(day=day, amount=-amount, description=description),
        **(
            {"suggested_category": suggested[0], "suggested_confidence": Decimal(suggested[1])}
            if suggested
            else {}
        ),
    }


def stored_records(model, batch: ImportBatch, own: Category) -> list[dict[str, Any]]:
    """Every column of the batch's records, with what differs between two users (ids,
    book, batch, creator, timestamps, the user's own category) put in comparable form."""
    records = []
    for record in model.objects.filter(import_batch=batch).order_by("description"):
        values = {f.attname: getattr(record, f.attname) for f in model._meta.concrete_fields}
        for varying in ("id", "book_id", "user_id", "import_batch_id"):
            values.pop(varying)
        created, updated = values.pop("created_at"), values.pop("updated_at")
        assert created is not None and updated is not None
        assert abs(created - timezone.now()).total_seconds() < 600
        values["category"] = record.category.name if record.category else None
        values.pop("category_id")
        values["suggested"] = (
            "own" if record.suggested_category_id == own.pk else record.suggested_category_id
        )
        values.pop("suggested_category_id")
        values["tags"] = sorted(record.tags.values_list("name", flat=True))
        values["creator_is_importer"] = record.user_id == batch.user_id
        values["receipt"] = str(values["receipt"])
        records.append(values)
    return records


@needs_postgresql
def test_copy_stores_exactly_what_bulk_create_stores(monkeypatch):
    ExchangeRate.objects.create(
        base="EUR", quote="USD", date=date(2024, 1, 1), rate=Decimal("1.0850")
    )
    monkeypatch.setattr(ledger, "_copy_rows", ledger._copy_rows)  # restore after the test
    copied_calls: list[str] = []
    copied, copied_own = import_into(UserFactory(), spy=copied_calls)
    assert copied_calls == ["copy", "copy"]

    monkeypatch.setattr(ledger, "_copy_rows", ledger._create_rows)
    created, created_own = import_into(UserFactory(), spy=[])

    for model in (Expense, Income):
        by_copy = stored_records(model, copied, copied_own)
        by_create = stored_records(model, created, created_own)
        assert by_copy == by_create
    by_description = {r["description"]: r for r in stored_records(Expense, copied, copied_own)}
    paris = by_description["Coffee in Paris"]
    assert (paris["amount"], paris["base_amount"]) == (Decimal("12.35"), Decimal("13.40"))
    assert paris["exchange_rate"] == Decimal("1.0850")
    assert (paris["tags"], paris["category"]) == (["caffeine"], "Drinks")
    assert paris["import_fitid"] == "T1" and len(paris["import_key"]) == 40
    assert by_description["Back\\slash\ttab\nnew line\rcr"]["merchant"] == "Shop\t1"
    assert by_description["Tiny"]["suggested"] == "own"
    assert by_description["Tiny"]["suggested_confidence"] == Decimal("0.870")
    assert by_description["Largest"]["suggested"] is None  # not a category of the book
    assert by_description["Largest"]["suggested_confidence"] is None


# --- undo: exactly the batch's records, and what hangs off them --------------------------------


@pytest.mark.parametrize("queued", [False, True], ids=["inline", "queued"])
def test_undo_deletes_exactly_the_batch_and_what_hangs_off_it(
    auth_client, user, settings, queued, django_capture_on_commit_callbacks
):
    if queued:
        settings.IMPORT_ASYNC_ROWS = 1  # queued jobs run once the test's "commit" happens
    tag = TagFactory(user=user, name="caffeine")
    RuleFactory(user=user, value="coffee", add_tags=[tag])
    kept = upload(auth_client, statement("2024-03-01,Coffee kept,-2.00", "2024-03-01,Pay,900"))
    with django_capture_on_commit_callbacks(execute=True):  # a queued commit runs then
        commit(auth_client, kept["id"])
    undone = upload(
        auth_client,
        statement(
            "2024-03-02,Coffee gone,-3.00", "2024-03-02,Bread,-4.00", "2024-03-02,Refund,5.00"
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        commit(auth_client, undone["id"])
    hand = ExpenseFactory(user=user, description="Coffee by hand")
    hand.tags.add(tag)
    gone = Expense.objects.get(description="Coffee gone")
    bread = Expense.objects.get(description="Bread")
    for subject in (gone, hand):
        Anomaly.objects.create(
            book=user.personal_book,
            kind=AnomalyKind.EXPENSE,
            expense=subject,
            month=date(2024, 3, 1),
            reason_code="large",
            reason="Large",
            score=1.0,
        )
    item = RecurringItemFactory(user=user)
    occurrence = RecurringOccurrence.objects.create(item=item, date=date(2024, 3, 2), expense=bread)
    through = Expense.tags.through

    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.delete(f"{URL}{undone['id']}/")

    assert response.status_code == (202 if queued else 200), response.content
    assert not Expense.objects.filter(import_batch_id=undone["id"]).exists()
    assert not Income.objects.filter(import_batch_id=undone["id"]).exists()
    assert set(Expense.objects.filter(user=user).values_list("description", flat=True)) == {
        "Coffee kept",
        "Coffee by hand",
    }
    assert set(Income.objects.filter(user=user).values_list("description", flat=True)) == {"Pay"}
    assert set(through.objects.values_list("expense__description", flat=True)) == {
        "Coffee kept",
        "Coffee by hand",
    }
    assert list(Anomaly.objects.values_list("expense_id", flat=True)) == [hand.pk]
    occurrence.refresh_from_db()
    assert occurrence.expense_id is None  # SET_NULL, as Django's delete would have done
    if queued:
        assert ImportBatch.objects.get(pk=undone["id"]).status == "undone"
    else:
        assert response.json() == {"expenses": 2, "incomes": 1}
        assert not ImportBatch.objects.filter(pk=undone["id"]).exists()


def test_a_relation_the_bulk_delete_cannot_honour_is_refused(monkeypatch):
    """A future model pointing at records with PROTECT must not be skipped silently."""
    from django.db.models import PROTECT

    relation = next(
        r for r in Expense._meta.get_fields(include_hidden=True) if r.related_model is Anomaly
    )
    monkeypatch.setattr(relation, "on_delete", PROTECT)
    with pytest.raises(NotImplementedError, match="PROTECT"):
        ledger._delete_dependants(Expense, Expense.objects.none())


# --- the stored rows -----------------------------------------------------------------------


def test_packed_rows_are_the_preview_rows(user):
    text = statement("2024-03-01,Coffee,-2.00", "2024-03-01,Pay,900", "2024-03-02,  A  b ,-1")
    result = parse_csv(text.encode(), CsvOptions())
    checked = services._check_rows(book=user.personal_book, result=result, default_currency=None)
    stored = checked.batch_fields()["rows"]

    assert rowstore.unpack_rows(stored) == [
        {column: row.get(column) for column in rowstore.COLUMNS} for row in checked.rows
    ]
    assert all(set(row) <= set(rowstore.COLUMNS) for row in checked.rows)
    assert rowstore.row_count(stored) == 3
    assert rowstore.row_lines(stored) == [2, 3, 4]
    assert rowstore.head_rows(stored, 2) == rowstore.unpack_rows(stored)[:2]


def test_a_batch_stored_as_a_list_of_rows_still_shows_and_commits(auth_client, user):
    batch = upload(auth_client, statement("2024-03-01,Coffee,-2.00", "2024-03-01,Pay,900"))
    stored = ImportBatch.objects.get(pk=batch["id"])
    legacy = rowstore.unpack_rows(stored.rows)
    ImportBatch.objects.filter(pk=stored.pk).update(rows=legacy)  # the form before issue 19

    shown = auth_client.get(f"{URL}{batch['id']}/").json()
    assert shown["rows"] == batch["rows"] and shown["rows_truncated"] is False
    commit(auth_client, batch["id"])
    assert Expense.objects.filter(import_batch_id=batch["id"]).count() == 1
    assert Income.objects.filter(import_batch_id=batch["id"]).count() == 1


def test_a_big_batch_shows_its_first_rows_cut_in_the_database(auth_client):
    lines = [f"2024-03-{i % 28 + 1:02d},Shop {i},-{i % 90 + 1}.50" for i in range(1005)]
    batch = upload(auth_client, statement(*lines))
    assert len(batch["rows"]) == PREVIEW_ROWS_SHOWN and batch["rows_truncated"] is True

    shown = auth_client.get(f"{URL}{batch['id']}/").json()

    assert shown["rows"] == batch["rows"]
    assert shown["rows_truncated"] is True
    assert shown["total_rows"] == 1005


# --- memoised checks give the row-by-row answers ---------------------------------------------


def test_whitespace_normalisation_keeps_the_keys_stored_before():
    """Keys were `re.sub(r"\\s+", " ", text).strip().casefold()`; records stored with them
    must still be found, so the faster normalisation must give the same text."""
    spaces = "".join(chr(code) for code in range(0x3001) if chr(code).isspace())
    samples = [
        f"  Coffee{spaces}Shop  ",
        "a\u00a0b\u2003c\u3000d\x1ce\x1ff\u0085g\u2028h",
        "CAFÉ   straße\t\tX",
        "",
        " \n ",
    ]
    for text in samples:
        assert services.normalise_description(text) == (
            re.sub(r"\s+", " ", text).strip().casefold()
        )


def test_validation_answers_do_not_depend_on_what_came_before():
    memo: dict[Any, str | None] = {}
    quotes: dict = {}

    def check(amount: str, currency: str, day: date = date(2024, 3, 1)) -> str | None:
        parsed = ParsedRow(line=2, date=day, description="x", amount=Decimal(amount))
        # The statement's currency as the base: no conversion is asked for.
        with_memo = services._validate(parsed, currency, currency, quotes, memo)
        assert with_memo == services._validate(parsed, currency, currency, {}, None)
        return with_memo

    assert check("-12.5", "USD") is None
    assert check("-12.50", "USD") is None
    assert "decimal place" in check("-12.505", "USD")
    assert "decimal place" in check("-12.505", "USD")  # remembered
    assert check("-12.505", "KWD") is None  # three places allowed there
    assert "Unknown currency" in check("-1", "XXQ")
    assert "outside the supported range" in check("-1", "USD", date(1800, 1, 1))
    assert check("-1", "USD") is None


def test_a_repeated_amount_text_is_read_alike_on_every_line():
    text = statement(
        "2024-03-01,A,-12.50", "2024-03-02,B,-12.50", "2024-03-03,C,12x", "2024-03-04,D,12x"
    )
    result = parse_csv(text.encode(), CsvOptions())

    assert [r.amount for r in result.rows] == [Decimal("-12.50"), Decimal("-12.50")]
    assert [line for line, _ in result.errors] == [4, 5]
    assert all("unparseable amount" in message for _, message in result.errors)
