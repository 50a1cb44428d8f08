"""The import wizard, exports and backup/restore pages in a real browser (SPEC §11, §18):
a real bank statement from ../shared/fixtures/statements through upload → preview →
commit → transactions, re-imported as all duplicates, undone from the history; a CSV that
needs its columns mapped, previewed live as the mapping changes, with a possible duplicate
kept and the mapping saved, matched by its header and deleted; filtered CSV, PDF and
backup downloads (fetched with the token, saved from a blob); backup → change → restore
(replace) → the data is back; a broken backup's problems listed; axe on both pages."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from expenses.models import Expense
from expenses.tests.factories import ExpenseFactory
from imports.models import ImportBatch, ImportProfile
from income.models import Income
from income.tests.factories import IncomeFactory
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

STATEMENTS = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "statements"
BOI = STATEMENTS / "csv__bank2ynab__test_BOI_TransactionExport.csv"  # 27 rows, sum -419.61
BOI_ROWS, BOI_SUM = 27, Decimal("-419.61")

# Headers no importer knows: the columns must be mapped.
MAPPED_CSV = (
    "When;What;How much\n"
    "01.02.2024;Coffee shop;-3,50\n"
    "02.02.2024;Salary;1000,00\n"
    "03.02.2024;Books;-12,00\n"
)


def signed_total(user) -> Decimal:
    spent = sum(e.amount for e in Expense.objects.filter(user=user))
    earned = sum(i.amount for i in Income.objects.filter(user=user))
    return earned - spent


def preview_heading(page, name: str):
    return page.get_by_role("heading", name=f"Preview of {name}")


def summary_value(page, label: str) -> str:
    return (
        page.locator("[data-summary] div", has=page.get_by_text(label, exact=True))
        .locator("dd")
        .inner_text()
    )


def test_import_a_bank_statement_then_again_as_duplicates_then_undo(open_tab, settings):
    if not BOI.exists():
        pytest.skip(f"{BOI} is missing")
    # Over this many rows, commit and undo are queued (202) and the page polls the batch.
    settings.IMPORT_ASYNC_ROWS = 5
    user = UserFactory(username="importer", base_currency="EUR")
    tab = open_tab()
    tab.sign_in("importer", DEFAULT_PASSWORD)
    page = tab.page
    queued: list[str] = []
    page.on(
        "response",
        lambda r: (
            r.status == 202 and queued.append(f"{r.request.method} {r.url.split('/api/v1')[1]}")
        ),
    )
    tab.goto("#/import")
    tab.heading("Import")
    page.get_by_text("No imports yet").wait_for()

    page.get_by_label("Statement file").set_input_files(str(BOI))
    preview_heading(page, BOI.name).wait_for()
    assert summary_value(page, "Rows") == "27"
    assert summary_value(page, "New") == "27"
    assert summary_value(page, "Already imported") == "0"
    preview = page.locator("[data-preview]")
    assert preview.get_by_role("row").count() == BOI_ROWS + 1  # header + every row
    assert "Random Bill" in preview.inner_text()
    assert Expense.objects.filter(user=user).count() == 0  # a preview stores nothing

    page.get_by_role("button", name="Import 27 transactions").click()
    page.get_by_text("Imported 21 expenses and 6 income.").wait_for()
    assert (
        Expense.objects.filter(user=user).count() + Income.objects.filter(user=user).count()
        == BOI_ROWS
    )
    assert signed_total(user) == BOI_SUM
    history = page.get_by_role("region", name="Import history")
    history.get_by_text("Imported", exact=True).wait_for()

    page.get_by_role("link", name="See them in Transactions").click()
    tab.heading("Transactions")
    page.get_by_text("Random Bill").first.wait_for()

    # The same file again: every row is a duplicate and nothing can be imported.
    tab.goto("#/import")
    tab.heading("Import")
    page.get_by_label("Statement file").set_input_files(str(BOI))
    preview_heading(page, BOI.name).wait_for()
    assert summary_value(page, "Already imported") == "27"
    assert summary_value(page, "New") == "0"
    page.get_by_text("Everything in this file has been imported before").wait_for()
    assert page.get_by_role("button", name="Nothing new to import").is_disabled()
    assert (
        page.locator("[data-preview] tbody").get_by_text("Already imported", exact=True).count()
        == 27
    )

    # Undo from the history: the dialog asks, then every record is gone.
    history = page.get_by_role("region", name="Import history")
    history.get_by_role("button", name=f"Undo the import of {BOI.name}").click()
    dialog = page.get_by_role("dialog", name="Undo this import?")
    assert "21 expenses and 6 income" in dialog.inner_text()
    dialog.get_by_role("button", name="Undo the import").click()
    page.get_by_text("Import undone: 21 expenses and 6 income removed").wait_for()
    assert Expense.objects.filter(user=user).count() == 0
    assert Income.objects.filter(user=user).count() == 0
    history.get_by_text("Undone", exact=True).wait_for()  # a queued undo keeps its batch
    undone = ImportBatch.objects.get(user=user, status="undone")
    assert undone.expense_count == 21
    assert queued == [f"POST /imports/{undone.pk}/commit/", f"DELETE /imports/{undone.pk}/"]
    assert tab.errors == [] and tab.csp_violations() == []


def test_column_mapping_previews_live_keeps_a_possible_duplicate_and_saves_the_mapping(
    open_tab, tmp_path
):
    user = UserFactory(username="mapper", base_currency="EUR")
    ExpenseFactory(
        user=user, amount=Decimal("3.50"), date=date(2024, 2, 2), description="Coffee shop"
    )
    statement = tmp_path / "mybank.csv"
    statement.write_text(MAPPED_CSV, encoding="utf-8")
    tab = open_tab()
    tab.sign_in("mapper", DEFAULT_PASSWORD)
    page = tab.page
    tab.goto("#/import")
    tab.heading("Import")

    page.get_by_label("Statement file").set_input_files(str(statement))
    # The API's message next to the file field, and the mapping opened with the file's own
    # column names to choose from.
    error = page.locator("[data-field=file] .field-error")
    error.wait_for()
    assert "missing column(s)" in error.inner_text()
    page.get_by_text("could not tell which columns hold the date").wait_for()
    mapping = page.locator("details", has_text="Column mapping and CSV options")
    assert mapping.get_attribute("open") is not None
    date_select = page.get_by_label("Date", exact=True)
    assert date_select.locator("option").all_inner_texts() == ["Detect", "When", "What", "How much"]

    date_select.select_option("When")
    page.get_by_label("Description", exact=True).select_option("What")
    page.get_by_label("Amount", exact=True).select_option("How much")
    preview_heading(page, "mybank.csv").wait_for()  # previewed again as the mapping changed
    assert summary_value(page, "New") == "2"
    assert summary_value(page, "Possible duplicates") == "1"
    preview = page.locator("[data-preview]")
    assert "+€1,000.00" in preview.inner_text()
    assert (
        "Possible duplicate"
        in preview.get_by_role("row", name=re.compile("Coffee shop")).inner_text()
    )
    assert page.locator("[data-field=file] .field-error").is_hidden()

    # Save the mapping from this preview.
    page.get_by_role("button", name="Save this mapping").click()
    dialog = page.get_by_role("dialog", name="Save this mapping")
    dialog.get_by_label("Name").fill("My bank")
    dialog.get_by_role("button", name="Save mapping").click()
    dialog.wait_for(state="detached")
    saved = page.get_by_role("region", name="Saved mappings")
    saved.get_by_text("My bank", exact=True).wait_for()
    assert "date: When" in saved.inner_text()
    profile = ImportProfile.objects.get(user=user)
    assert profile.options["columns"] == {
        "date": "When",
        "description": "What",
        "amount": "How much",
    }

    # Keep the possible duplicate: three rows stored.
    page.get_by_label("Import line 2 anyway").check()
    page.get_by_role("button", name="Import 3 transactions").click()
    page.get_by_text("Imported 2 expenses and 1 income.").wait_for()
    assert Expense.objects.filter(user=user).count() == 3  # the hand-entered one and two
    assert Expense.objects.filter(user=user, description="Coffee shop").count() == 2
    assert Income.objects.get(user=user).amount == Decimal("1000.00")
    # Every superseded preview of the mapping was discarded; only the import is left.
    page.get_by_role("region", name="Import history").get_by_text("Imported", exact=True).wait_for()
    assert list(ImportBatch.objects.filter(user=user).values_list("status", flat=True)) == [
        "committed"
    ]

    # The same layout again: the saved mapping is picked by the file's header.
    page.get_by_label("Statement file").set_input_files(str(statement))
    preview_heading(page, "mybank.csv").wait_for()
    page.get_by_text(
        "Your saved mapping “My bank” was used: the file's header matches it."
    ).wait_for()
    assert summary_value(page, "Already imported") == "3"

    saved.get_by_role("button", name="Delete the mapping My bank").click()
    page.get_by_role("dialog", name="Delete this mapping?").get_by_role(
        "button", name="Delete"
    ).click()
    saved.get_by_text("No saved mappings").wait_for()
    assert not ImportProfile.objects.filter(user=user).exists()
    assert tab.errors == [] and tab.csp_violations() == []


def test_exports_download_with_filters_and_backup_restores_replaced_data(open_tab, tmp_path):
    user = UserFactory(username="keeper", base_currency="EUR")
    ExpenseFactory(
        user=user, amount=Decimal("4.20"), date=date(2026, 3, 2), description="Early coffee"
    )
    ExpenseFactory(
        user=user, amount=Decimal("60.00"), date=date(2026, 3, 20), description="Late groceries"
    )
    IncomeFactory(
        user=user, amount=Decimal("2500.00"), date=date(2026, 3, 1), description="March salary"
    )
    tab = open_tab()
    tab.sign_in("keeper", DEFAULT_PASSWORD)
    page = tab.page
    requests: list[str] = []
    page.on("request", lambda r: "/api/v1/export/" in r.url and requests.append(r.url))
    tab.goto("#/export")
    tab.heading("Export and backup")

    # A bad filter is the API's 400, next to its field.
    page.get_by_label("Amount at least").fill("lots")
    page.get_by_role("button", name="Download expenses (CSV)").click()
    error = page.locator("[data-field=min_amount] .field-error")
    error.wait_for()
    assert error.inner_text()
    page.get_by_label("Amount at least").fill("")

    page.get_by_label("From").fill("2026-03-10")
    with page.expect_download() as caught:
        page.get_by_role("button", name="Download expenses (CSV)").click()
    csv_text = Path(caught.value.path()).read_text(encoding="utf-8-sig")
    assert caught.value.suggested_filename.startswith("expenses-")
    assert "Late groceries" in csv_text and "Early coffee" not in csv_text
    page.get_by_text(re.compile(r"Downloaded expenses-.*\.csv")).wait_for()

    with page.expect_download() as caught:
        page.get_by_role("button", name="Download the report (PDF)").click()
    assert Path(caught.value.path()).read_bytes().startswith(b"%PDF")
    # The token travels in the Authorization header, never in a URL.
    assert requests and not any("token" in url.lower() for url in requests)

    with page.expect_download() as caught:
        page.get_by_role("button", name="Download a backup").click()
    backup = tmp_path / caught.value.suggested_filename
    caught.value.save_as(str(backup))
    assert json.loads(backup.read_text())["format"] == "budget-tracker-backup"

    # Change the data, then restore the backup in replace mode.
    Expense.objects.filter(user=user, description="Early coffee").delete()
    ExpenseFactory(
        user=user, amount=Decimal("9.99"), date=date(2026, 3, 21), description="Added later"
    )
    restore = page.get_by_role("region", name="Restore a backup")
    restore.get_by_label("Backup file").set_input_files(str(backup))
    restore.get_by_label("Replace what is here").check()
    restore.get_by_role("button", name="Restore").click()
    page.get_by_role("dialog", name="Replace everything?").get_by_role(
        "button", name="Delete and restore"
    ).click()
    page.get_by_text("The backup replaced this book's records.").wait_for()
    result = restore.get_by_role("table", name="What the restore did")
    assert "Expenses" in result.inner_text()
    descriptions = set(Expense.objects.filter(user=user).values_list("description", flat=True))
    assert descriptions == {"Early coffee", "Late groceries"}
    assert Income.objects.get(user=user).description == "March salary"

    # A broken backup: every problem listed, nothing stored.
    broken = tmp_path / "broken.json"
    document = json.loads(backup.read_text())
    document["expenses"][0]["amount"] = "not money"
    broken.write_text(json.dumps(document))
    restore.get_by_label("Backup file").set_input_files(str(broken))
    restore.get_by_role("button", name="Restore").click()
    restore.get_by_text("Problems in the backup file").wait_for()
    assert re.search(r"expenses › 0 › amount: ", restore.inner_text())
    assert "Nothing was stored" in restore.get_by_role("alert").first.inner_text()
    assert Expense.objects.filter(user=user).count() == 2
    assert tab.errors == [] and tab.csp_violations() == []


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_import_and_export_pages_pass_axe_light_and_dark(open_tab, viewport, tmp_path):
    user = UserFactory(username=f"looker-{viewport}", base_currency="EUR")
    ExpenseFactory(
        user=user, amount=Decimal("3.50"), date=date(2024, 2, 2), description="Coffee shop"
    )
    statement = tmp_path / "mybank.csv"
    statement.write_text(MAPPED_CSV.replace("When;What;How much", "Date;Description;Amount"))
    tab = open_tab(viewport)
    tab.sign_in(user.username, DEFAULT_PASSWORD)
    page = tab.page
    problems: list[str] = []
    for dark in (False, True):
        look = f"{viewport}-{'dark' if dark else 'light'}"
        page.emulate_media(color_scheme="dark" if dark else "light")
        tab.goto("#/import")
        tab.heading("Import")
        if not dark:
            page.get_by_label("Statement file").set_input_files(str(statement))
        else:  # the open preview waits in the history
            page.get_by_role("button", name="Open the preview of mybank.csv").click()
        preview_heading(page, "mybank.csv").wait_for()  # new, possible duplicate, income
        tab.settled()
        problems.extend(f"{look} import: {v}" for v in tab.axe())
        tab.shot(f"import-{look}")
        tab.goto("#/export")
        tab.heading("Export and backup")
        tab.settled()
        problems.extend(f"{look} export: {v}" for v in tab.axe())
        tab.shot(f"export-{look}")
    problems += tab.csp_violations() + tab.errors
    assert not problems, "\n".join(problems)
