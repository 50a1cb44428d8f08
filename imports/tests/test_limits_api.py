"""Issue 11 at the API: encodings, upload options, row limits, queued commit and undo."""

from __future__ import annotations

import codecs
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from expenses.models import Expense
from imports.models import BatchStatus, ImportBatch
from income.models import Income
from tests.fuzz_depth import examples

from .xlsx_builder import number_cell, xlsx

pytestmark = pytest.mark.django_db

URL = "/api/v1/imports/"
CSV = "Date,Description,Amount\n2024-01-05,Café,-3.50\n2024-01-06,Salary,100.00\n"


def upload(client, content, name="statement.csv", **extra):
    file = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    return client.post(URL, {"file": file, **extra}, format="multipart")


def many_rows(count: int) -> bytes:
    lines = ["Date,Description,Amount"]
    lines += [f"2024-01-{i % 28 + 1:02d},Shop {i},-{i % 50 + 1}.25" for i in range(count)]
    return ("\n".join(lines) + "\n").encode()


def stored(user) -> int:
    return Expense.objects.filter(user=user).count() + Income.objects.filter(user=user).count()


# --- encodings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
    ],
)
def test_bom_marked_csv_is_detected_and_decoded(auth_client, bom, codec):
    response = upload(auth_client, bom + CSV.encode(codec))

    assert response.status_code == 201, response.content
    assert [row["description"] for row in response.json()["rows"]] == ["Café", "Salary"]
    assert response.json()["format"] == "csv"


@pytest.mark.parametrize("encoding", ["undefined", "no-such-codec", "rot13", "base64", "idna"])
def test_unknown_or_non_text_encoding_is_400_naming_encoding(auth_client, user, encoding):
    response = upload(auth_client, CSV.encode(), encoding=encoding)

    assert response.status_code == 400, response.content
    assert "encoding" in response.json()
    assert not ImportBatch.objects.filter(user=user).exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("date_format", "%"),
        ("date_format", "%Q"),
        ("date_format", "%d%d"),
        ("date_format", "%x %d"),
        ("date_format", "%d%"),
        ("columns", "[" * 5000 + "]" * 5000),
        ("columns", '{"date": 1e999, "amount": 2, "description": 1}'),
        ("columns", '{"date": 99999999999999999999, "amount": 2, "description": 1}'),
        ("columns", '{"date": 0, "amount": 2, "description": []}'),
        ("skip_rows", "-1"),
        ("skip_rows", "99999999999999999999"),
        ("negate", "maybe"),
        ("decimal_separator", "'"),
    ],
)
def test_odd_option_values_are_400_naming_the_option(auth_client, field, value):
    response = upload(auth_client, CSV.encode(), **{field: value})

    assert response.status_code == 400, response.content
    assert field in response.json()


def test_a_digit_string_column_name_past_the_int_limit_is_not_a_500(auth_client):
    columns = '{"date": "Date", "amount": "%s", "description": "Description"}' % ("9" * 5000)
    response = upload(auth_client, CSV.encode(), columns=columns)

    assert response.status_code == 400, response.content


# multipart bodies are UTF-8: the test client cannot send a lone surrogate
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
option_values = st.one_of(
    text,
    st.sampled_from(["%", "%Q", "%d%d", "%-d", "%Y-%m-%d", "\x00", '"', "\n", "€", "tab"]),
    st.integers(-(10**30), 10**30).map(str),
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), text),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
        max_leaves=6,
    ).map(json.dumps),
)


@settings(
    max_examples=examples(120),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    options=st.dictionaries(
        st.sampled_from(
            [
                "delimiter",
                "encoding",
                "date_format",
                "decimal_separator",
                "columns",
                "skip_rows",
                "negate",
                "format",
                "default_currency",
            ]
        ),
        option_values,
        max_size=4,
    )
)
def test_any_upload_options_give_a_json_answer_never_a_500(auth_client, options):
    options = {key: value.replace("\x00", "") or "x" for key, value in options.items()}
    response = upload(auth_client, CSV.encode(), **options)

    assert response.status_code in (201, 400, 415), response.content[:300]
    assert response["Content-Type"].startswith("application/json")


# --- size limits -------------------------------------------------------------------------


def test_more_transactions_than_import_max_rows_is_400_naming_the_limit(
    auth_client, user, settings
):
    settings.IMPORT_MAX_ROWS = 20
    response = upload(auth_client, many_rows(21))

    assert response.status_code == 400, response.content
    assert "IMPORT_MAX_ROWS" in response.json()["file"][0]
    assert not ImportBatch.objects.filter(user=user).exists()
    assert upload(auth_client, many_rows(20)).status_code == 201


def test_xlsx_with_a_value_in_column_xfd_is_400(auth_client, user):
    content = xlsx("".join(f'<row r="{r}">{number_cell(f"XFD{r}", "1")}</row>' for r in (1, 2)))
    response = upload(auth_client, content, name="statement.xlsx")

    assert response.status_code == 400, response.content
    assert "columns" in response.json()["file"][0]


def test_dates_outside_the_supported_range_are_row_errors(auth_client):
    content = (
        b"Date,Description,Amount\n05/01/9999,Far,-1.00\n05/01/1850,Old,-1.00\n"
        b"05/01/2024,Now,-1.00\n"
    )
    response = upload(auth_client, content, date_format="%d/%m/%Y")

    assert response.status_code == 201, response.content
    body = response.json()
    assert [row["description"] for row in body["rows"]] == ["Now"]
    assert [error["line"] for error in body["errors"]] == [2, 3]
    assert all("supported range" in error["message"] for error in body["errors"])


def test_ofx_in_an_unsupported_currency_is_400(auth_client):
    content = (
        b"OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS>"
        b"<CURDEF>XYZ<BANKTRANLIST><STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20240102<TRNAMT>-1.00"
        b"<FITID>1<NAME>Shop</STMTTRN></BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>"
    )
    response = upload(auth_client, content, name="statement.ofx")

    assert response.status_code == 400, response.content
    assert "XYZ" in response.json()["file"][0]


# --- queued commit and undo --------------------------------------------------------------


def test_big_commit_and_undo_are_queued_and_polled(
    auth_client, user, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_ASYNC_ROWS = 5
    batch = upload(auth_client, many_rows(8)).json()

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = auth_client.post(f"{URL}{batch['id']}/commit/", {}, format="json")
    assert response.status_code == 202, response.content
    assert len(queued) == 1  # the job, queued once the request's transaction commits
    # Run it (its own writes' after-commit work, e.g. the anomaly check, runs too).
    with django_capture_on_commit_callbacks(execute=True):
        queued[0]()
    polled = auth_client.get(f"{URL}{batch['id']}/").json()
    assert polled["status"] == "committed"
    assert polled["expense_count"] == 8
    assert stored(user) == 8

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = auth_client.delete(f"{URL}{batch['id']}/")
    assert response.status_code == 202, response.content
    assert len(queued) == 1
    with django_capture_on_commit_callbacks(execute=True):
        queued[0]()
    assert auth_client.get(f"{URL}{batch['id']}/").json()["status"] == "undone"
    assert stored(user) == 0

    again = auth_client.delete(f"{URL}{batch['id']}/")
    assert again.status_code == 409
    assert again.json()["code"] == "already_undone"


def test_while_queued_a_commit_or_undo_is_409_and_the_status_shows(
    auth_client, user, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_ASYNC_ROWS = 5
    batch = upload(auth_client, many_rows(8)).json()

    with django_capture_on_commit_callbacks(execute=False):
        response = auth_client.post(f"{URL}{batch['id']}/commit/", {}, format="json")
    assert response.status_code == 202
    assert response.json()["status"] == "committing"
    assert stored(user) == 0

    for attempt in (
        auth_client.post(f"{URL}{batch['id']}/commit/", {}, format="json"),
        auth_client.delete(f"{URL}{batch['id']}/"),
    ):
        assert attempt.status_code == 409
        assert attempt.json()["code"] == "commit_in_progress"


def test_a_failed_queued_commit_is_recorded_and_stores_nothing(
    auth_client, user, settings, django_capture_on_commit_callbacks, monkeypatch
):
    settings.IMPORT_ASYNC_ROWS = 5
    batch = upload(auth_client, many_rows(8)).json()

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("imports.services.incomes_bulk_import", broken)
    monkeypatch.setattr("imports.services.expenses_bulk_import", broken)
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(f"{URL}{batch['id']}/commit/", {}, format="json")

    assert response.status_code == 202
    polled = auth_client.get(f"{URL}{batch['id']}/").json()
    assert polled["status"] == "failed"
    assert "nothing was stored" in polled["error"]
    assert stored(user) == 0
    # a failed batch is discarded by undo
    assert auth_client.delete(f"{URL}{batch['id']}/").status_code == 200
    assert not ImportBatch.objects.filter(pk=batch["id"]).exists()


def test_small_undo_twice_is_404_the_second_time(auth_client, user):
    batch = upload(auth_client, CSV.encode()).json()
    assert auth_client.post(f"{URL}{batch['id']}/commit/", {}, format="json").status_code == 200

    assert auth_client.delete(f"{URL}{batch['id']}/").json() == {"expenses": 1, "incomes": 1}
    assert auth_client.delete(f"{URL}{batch['id']}/").status_code == 404
    assert stored(user) == 0


def test_statuses_in_the_model_cover_the_queue():
    assert {choice for choice, _ in BatchStatus.choices} >= {
        "committing",
        "committed",
        "undoing",
        "undone",
        "failed",
    }


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("s.csv", b"Date,Description,Amount\n2024-01-02,A,-1\n" + b"\n" * 3000),
        ("s.qif", b"!Type:Bank\n" + b"D01/02/2024\nT-1.00\nPShop\n^\n" * 25),
        (
            "s.ofx",
            b"OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS>"
            b"<CURDEF>USD<BANKTRANLIST>"
            + b"<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20240102<TRNAMT>-1.00<NAME>S</STMTTRN>" * 25
            + b"</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>",
        ),
    ],
)
def test_every_format_is_refused_early_past_the_row_limit(auth_client, settings, name, content):
    settings.IMPORT_MAX_ROWS = 20
    response = upload(auth_client, content, name=name)

    assert response.status_code == 400, response.content
    assert "IMPORT_MAX_ROWS" in response.json()["file"][0]
