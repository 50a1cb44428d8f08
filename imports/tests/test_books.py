"""Statement imports in books (SPEC §14): an import under /books/{id}/imports/ previews
against that book's rules, base currency and records, commits into that book, and is
seen, committed and undone only by its members as their role allows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from books.models import Book
from currencies.models import ExchangeRate
from expenses.models import Expense
from expenses.tests.factories import ExpenseFactory
from imports.models import ImportBatch, ImportProfile
from income.models import Income
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TOP = "/api/v1/imports/"
HEADER = "Date,Description,Amount\n"
RENT_AND_SALARY = ("2026-03-01,Rent,-900", "2026-03-03,Salary,2500")


def csv_bytes(*lines: str, header: str = HEADER) -> bytes:
    return (header + "\n".join(lines) + "\n").encode()


def imports_url(book: Book) -> str:
    return f"/api/v1/books/{book.pk}/imports/"


def upload(client, url: str, content: bytes, name: str = "s.csv", **extra):
    file = SimpleUploadedFile(name, content, content_type="text/csv")
    return client.post(url, {"file": file, **extra}, format="multipart")


def preview(client, url: str, content: bytes, **extra) -> dict:
    response = upload(client, url, content, **extra)
    assert response.status_code == 201, response.content
    return response.json()


def commit(client, url: str, batch_id: int, **body):
    return client.post(f"{url}{batch_id}/commit/", body, format="json")


def records(book: Book) -> list[tuple[str, str, Decimal]]:
    """(kind, description, amount) of every record in `book`, sorted."""
    found = [("expense", e.description, e.amount) for e in Expense.objects.filter(book=book)]
    found += [("income", i.description, i.amount) for i in Income.objects.filter(book=book)]
    return sorted(found)


@pytest.fixture
def members(db):
    return {"editor": UserFactory(), "viewer": UserFactory(), "stranger": UserFactory()}


@pytest.fixture
def book(shared_book, user, members):
    """A shared book in EUR (its owner's personal book is in USD)."""
    return shared_book(
        owner=user, editors=[members["editor"]], viewers=[members["viewer"]], base_currency="EUR"
    )


@pytest.fixture
def editor(client_for, members):
    return client_for(members["editor"])


@pytest.fixture
def viewer(client_for, members):
    return client_for(members["viewer"])


@pytest.fixture
def stranger(client_for, members):
    return client_for(members["stranger"])


@pytest.fixture
def personal(user) -> Book:
    return Book.objects.get(personal_owner=user)


# --- where records land ---------------------------------------------------------------------


def test_an_editors_import_lands_in_the_shared_book_and_not_in_a_personal_one(
    book, editor, auth_client, members, user, personal
):
    url = imports_url(book)
    batch = preview(editor, url, csv_bytes(*RENT_AND_SALARY))
    stored = ImportBatch.objects.get(pk=batch["id"])
    assert (stored.book_id, stored.user_id) == (book.pk, members["editor"].pk)

    counts = commit(editor, url, batch["id"])
    assert counts.status_code == 200, counts.content
    assert counts.json()["expenses"] == 1 and counts.json()["incomes"] == 1
    assert records(book) == [
        ("expense", "Rent", Decimal("900.00")),
        ("income", "Salary", Decimal("2500.00")),
    ]
    creators = set(Expense.objects.filter(book=book).values_list("user_id", flat=True))
    assert creators == {members["editor"].pk}
    editors_personal = Book.objects.get(personal_owner=members["editor"])
    assert records(editors_personal) == [] and records(personal) == []

    # Every member sees it in the book; nobody sees it at the top level (personal books).
    assert [b["id"] for b in auth_client.get(url).json()["results"]] == [batch["id"]]
    assert auth_client.get(TOP).json()["count"] == 0
    assert editor.get(TOP).json()["count"] == 0
    assert auth_client.get(f"{TOP}{batch['id']}/").status_code == 404
    assert auth_client.get(f"{url}{batch['id']}/").json()["status"] == "committed"

    # And the other way round: a personal import stays out of the shared book.
    mine = preview(auth_client, TOP, csv_bytes("2026-03-05,Coffee,-3.50"))
    assert ImportBatch.objects.get(pk=mine["id"]).book_id == personal.pk
    assert [b["id"] for b in auth_client.get(url).json()["results"]] == [batch["id"]]
    assert auth_client.get(f"{url}{mine['id']}/").status_code == 404
    assert commit(auth_client, url, mine["id"]).status_code == 404
    assert commit(auth_client, TOP, mine["id"]).status_code == 200
    assert records(personal) == [("expense", "Coffee", Decimal("3.50"))]
    assert len(records(book)) == 2


def test_undo_in_a_book_removes_only_that_batch(book, editor, auth_client, personal):
    url = imports_url(book)
    first = preview(editor, url, csv_bytes("2026-03-01,Rent,-900"))
    commit(editor, url, first["id"])
    second = preview(editor, url, csv_bytes("2026-03-02,Gym,-30"))
    commit(editor, url, second["id"])
    commit(auth_client, TOP, preview(auth_client, TOP, csv_bytes("2026-03-02,Gym,-30"))["id"])

    undone = editor.delete(f"{url}{second['id']}/")
    assert undone.status_code == 200 and undone.json() == {"expenses": 1, "incomes": 0}
    assert records(book) == [("expense", "Rent", Decimal("900.00"))]
    assert records(personal) == [("expense", "Gym", Decimal("30.00"))]
    assert ImportBatch.objects.filter(pk=first["id"], status="committed").exists()


def test_a_queued_commit_and_undo_work_in_the_batchs_book(
    book, editor, settings, django_capture_on_commit_callbacks, personal
):
    settings.IMPORT_ASYNC_ROWS = 2
    url = imports_url(book)
    lines = [f"2026-03-{day:02d},Shop {day},-{day}.00" for day in range(1, 6)]
    batch = preview(editor, url, csv_bytes(*lines))
    with django_capture_on_commit_callbacks(execute=True):
        response = commit(editor, url, batch["id"])
    assert response.status_code == 202, response.content
    assert editor.get(f"{url}{batch['id']}/").json()["status"] == "committed"
    assert Expense.objects.filter(book=book).count() == 5
    assert records(personal) == []

    with django_capture_on_commit_callbacks(execute=True):
        undone = editor.delete(f"{url}{batch['id']}/")
    assert undone.status_code == 202
    assert editor.get(f"{url}{batch['id']}/").json()["status"] == "undone"
    assert not Expense.objects.filter(book=book).exists()


# --- roles ----------------------------------------------------------------------------------


def test_a_viewer_reads_imports_and_profiles_but_cannot_change_them(book, editor, viewer):
    url = imports_url(book)
    batch = preview(editor, url, csv_bytes(*RENT_AND_SALARY))
    profile = editor.post(f"{url}profiles/", {"name": "Bank"}, format="json")
    assert profile.status_code == 201, profile.content
    profile_url = f"{url}profiles/{profile.json()['id']}/"

    assert viewer.get(url).json()["count"] == 1
    assert viewer.get(f"{url}{batch['id']}/").json()["total_rows"] == 2
    assert viewer.get(f"{url}profiles/").json()["count"] == 1
    assert viewer.get(profile_url).status_code == 200

    refused = [
        upload(viewer, url, csv_bytes("2026-03-05,Coffee,-3.50")),
        commit(viewer, url, batch["id"]),
        viewer.delete(f"{url}{batch['id']}/"),
        viewer.post(f"{url}profiles/", {"name": "Mine"}, format="json"),
        viewer.patch(profile_url, {"name": "Renamed"}, format="json"),
        viewer.delete(profile_url),
    ]
    assert [r.status_code for r in refused] == [403] * 6
    assert refused[0].json()["code"] == "permission_denied"
    assert ImportBatch.objects.filter(book=book).count() == 1
    assert ImportBatch.objects.get(pk=batch["id"]).status == "preview"
    assert list(ImportProfile.objects.filter(book=book).values_list("name", flat=True)) == ["Bank"]
    assert records(book) == []


def test_a_non_member_gets_404_for_everything_in_the_book(book, editor, stranger):
    url = imports_url(book)
    batch = preview(editor, url, csv_bytes(*RENT_AND_SALARY))
    profile = editor.post(f"{url}profiles/", {"name": "Bank"}, format="json").json()
    profile_url = f"{url}profiles/{profile['id']}/"
    answers = [
        stranger.get(url),
        stranger.get(f"{url}{batch['id']}/"),
        upload(stranger, url, csv_bytes("2026-03-05,Coffee,-3.50")),
        commit(stranger, url, batch["id"]),
        stranger.delete(f"{url}{batch['id']}/"),
        stranger.get(f"{url}profiles/"),
        stranger.get(profile_url),
        stranger.post(f"{url}profiles/", {"name": "Mine"}, format="json"),
        stranger.patch(profile_url, {"name": "Renamed"}, format="json"),
        stranger.delete(profile_url),
        # Their own personal path does not reach the book's records either.
        stranger.get(f"{TOP}{batch['id']}/"),
        stranger.get(f"{TOP}profiles/{profile['id']}/"),
    ]
    assert [a.status_code for a in answers] == [404] * len(answers)
    assert ImportBatch.objects.get(pk=batch["id"]).status == "preview"
    assert ImportProfile.objects.filter(book=book).count() == 1


# --- ids of another book --------------------------------------------------------------------


def test_a_profile_or_batch_of_another_book_is_refused(book, auth_client, user):
    url = imports_url(book)
    theirs = auth_client.post(f"{TOP}profiles/", {"name": "Personal bank"}, format="json").json()
    personal_batch = preview(auth_client, TOP, csv_bytes("2026-03-01,Rent,-900"))

    by_id = upload(auth_client, url, csv_bytes("2026-03-01,Rent,-900"), profile=str(theirs["id"]))
    by_name = upload(auth_client, url, csv_bytes("2026-03-01,Rent,-900"), profile="personal bank")
    copied = auth_client.post(
        f"{url}profiles/", {"name": "Copy", "from_batch": personal_batch["id"]}, format="json"
    )
    for response in (by_id, by_name, copied):
        assert response.status_code == 400, response.content
    assert "profile" in by_id.json() and "profile" in by_name.json()
    assert "from_batch" in copied.json()
    assert not ImportBatch.objects.filter(book=book).exists()
    assert not ImportProfile.objects.filter(book=book).exists()

    # The book's own ones are accepted.
    own = auth_client.post(f"{url}profiles/", {"name": "Shared bank"}, format="json").json()
    own_batch = preview(auth_client, url, csv_bytes("2026-03-01,Rent,-900"), profile=str(own["id"]))
    assert own_batch["profile"]["id"] == own["id"]
    made = auth_client.post(
        f"{url}profiles/", {"name": "From batch", "from_batch": own_batch["id"]}, format="json"
    )
    assert made.status_code == 201, made.content


def test_profile_names_and_header_fingerprints_are_per_book(book, auth_client):
    url = imports_url(book)
    header = "Booked;Text;Sum\n"
    sample = csv_bytes("01.03.2026;Rent;-900,00", header=header).replace(b",D", b";D")
    options = {
        "delimiter": ";",
        "date_format": "%d.%m.%Y",
        "decimal_separator": ",",
        "columns": {"date": "Booked", "description": "Text", "amount": "Sum"},
    }
    personal_profile = auth_client.post(
        f"{TOP}profiles/", {"name": "Bank", "options": options}, format="json"
    )
    assert personal_profile.status_code == 201
    file = SimpleUploadedFile("sample.csv", sample, content_type="text/csv")
    patched = auth_client.patch(
        f"{TOP}profiles/{personal_profile.json()['id']}/", {"sample": file}, format="multipart"
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["header"] == ["booked", "text", "sum"]

    # Same name in another book is fine; the personal profile is not picked for the book.
    assert auth_client.post(f"{url}profiles/", {"name": "bank"}, format="json").status_code == 201
    assert upload(auth_client, url, sample).status_code == 400  # unreadable without the mapping
    picked = preview(auth_client, TOP, sample)
    assert picked["profile"]["matched_by"] == "fingerprint" and picked["total_rows"] == 1


# --- rules, currency and duplicates of the book ---------------------------------------------


def test_the_preview_uses_the_books_rules_and_base_currency(book, auth_client):
    url = f"/api/v1/books/{book.pk}/"
    category = auth_client.post(
        f"{url}categories/", {"name": "Housing", "kind": "expense"}, format="json"
    )
    assert category.status_code == 201, category.content
    rule = auth_client.post(
        f"{url}rules/",
        {
            "name": "Rent is housing",
            "field": "description",
            "operator": "contains",
            "value": "rent",
            "category": category.json()["id"],
        },
        format="json",
    )
    assert rule.status_code == 201, rule.content
    ExchangeRate.objects.create(base="USD", quote="EUR", date=date(2026, 1, 1), rate=Decimal("0.5"))
    content = csv_bytes(*RENT_AND_SALARY)

    in_book = preview(auth_client, imports_url(book), content)
    assert in_book["default_currency"] == "EUR"
    rent = in_book["rows"][0]
    assert (rent["currency"], rent["suggested_category"]) == ("EUR", category.json()["id"])
    in_personal = preview(auth_client, TOP, content)
    assert in_personal["default_currency"] == "USD"
    assert in_personal["rows"][0]["suggested_category"] is None

    # Rows in another currency are converted into the book's base currency on commit.
    dollars = preview(auth_client, imports_url(book), content, default_currency="USD")
    assert commit(auth_client, imports_url(book), dollars["id"]).status_code == 200
    stored = Expense.objects.get(book=book)
    assert (stored.currency, stored.amount, stored.base_amount) == (
        "USD",
        Decimal("900.00"),
        Decimal("450.00"),
    )
    assert stored.category_id == category.json()["id"]
    assert Income.objects.get(book=book).base_amount == Decimal("1250.00")

    # A currency with no rate into the book's base currency cannot be imported there.
    refused = upload(auth_client, imports_url(book), content, default_currency="GBP")
    assert refused.status_code == 400
    assert "converted to EUR" in str(refused.json())


def test_duplicates_are_looked_for_only_in_the_books_records(book, editor, auth_client, user):
    url = imports_url(book)
    content = csv_bytes(*RENT_AND_SALARY)
    commit(auth_client, TOP, preview(auth_client, TOP, content)["id"])

    # Imported already into the personal book: new in the shared one, then a duplicate there.
    first = preview(editor, url, content)
    assert (first["new_rows"], first["duplicate_rows"]) == (2, 0)
    commit(editor, url, first["id"])
    again = preview(editor, url, content)
    assert (again["new_rows"], again["duplicate_rows"]) == (0, 2)
    assert preview(auth_client, TOP, content)["duplicate_rows"] == 2

    # A hand-entered record is a possible duplicate only in its own book.
    ExpenseFactory(user=user, amount=Decimal("42.50"), date=date(2026, 3, 10), description="Tesco")
    tesco = csv_bytes("2026-03-11,TESCO STORES,-42.50")
    assert preview(editor, url, tesco)["possible_duplicate_rows"] == 0
    assert preview(auth_client, TOP, tesco)["possible_duplicate_rows"] == 1
    hand = Expense.objects.create(
        book=book,
        user=user,
        amount=Decimal("42.50"),
        currency="EUR",
        base_amount=Decimal("42.50"),
        date=date(2026, 3, 10),
        description="Tesco",
    )
    flagged = preview(editor, url, tesco)
    assert flagged["rows"][0]["possible_duplicate"] == {"id": hand.pk, "kind": "expense"}


OFX = b"""OFXHEADER:100
DATA:OFXSGML
VERSION:102
SECURITY:NONE
ENCODING:USASCII
CHARSET:1252
COMPRESSION:NONE
OLDFILEUID:NONE
NEWFILEUID:NONE

<OFX><BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STMTRS><CURDEF>EUR
<BANKACCTFROM><BANKID>1<ACCTID>2<ACCTTYPE>CHECKING</BANKACCTFROM>
<BANKTRANLIST><DTSTART>20260301<DTEND>20260331
<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20260302<TRNAMT>-12.00<FITID>F-1<NAME>Cinema</STMTTRN>
</BANKTRANLIST><LEDGERBAL><BALAMT>0<DTASOF>20260331</LEDGERBAL>
</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>
"""


def test_fitids_are_unique_per_book(book, auth_client, personal):
    url = imports_url(book)
    ExchangeRate.objects.create(base="EUR", quote="USD", date=date(2026, 1, 1), rate=Decimal(2))
    mine = preview(auth_client, TOP, OFX, name="s.ofx")
    assert commit(auth_client, TOP, mine["id"]).status_code == 200
    shared = preview(auth_client, url, OFX, name="s.ofx")
    assert (shared["new_rows"], shared["duplicate_rows"]) == (1, 0)
    assert commit(auth_client, url, shared["id"]).json()["expenses"] == 1
    assert preview(auth_client, url, OFX, name="s.ofx")["duplicate_rows"] == 1
    holders = Expense.objects.filter(import_fitid="F-1").values_list("book_id", flat=True)
    assert sorted(holders) == sorted([book.pk, personal.pk])


# --- query counts ---------------------------------------------------------------------------


def _list_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_the_lists_of_a_book_take_a_constant_number_of_queries(book, editor, user):
    url = imports_url(book)

    def add(n: int) -> None:
        for _ in range(n):
            ImportBatch.objects.create(book=book, user=user, format="csv", default_currency="EUR")
            ImportProfile.objects.create(
                book=book, user=user, name=f"P{ImportProfile.objects.count()}"
            )

    add(1)
    one = (_list_queries(editor, url), _list_queries(editor, f"{url}profiles/"))
    add(9)
    assert editor.get(url).json()["count"] == 10
    ten = (_list_queries(editor, url), _list_queries(editor, f"{url}profiles/"))
    assert ten == one
