"""Receipt files: served as what their bytes are, and never left behind in MEDIA_ROOT by a
failed write, a replacement, a deleted record or a deleted account."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from expenses.models import Expense
from expenses.tests.factories import ExpenseFactory
from income.models import Income

pytestmark = pytest.mark.django_db

EXPENSES = "/api/v1/expenses/"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def files_in(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def form(**extra):
    return {"amount": "9.99", "date": "2026-03-10", "description": "Taxi", **extra}


def png(name: str = "r.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


# --- what a download says it is ----------------------------------------------------


def _stored(user, name: str, content: bytes) -> Expense:
    expense = ExpenseFactory(user=user)
    expense.receipt.save(name, ContentFile(content), save=True)
    return expense


@pytest.mark.parametrize(
    ("name", "content", "mime", "disposition"),
    [
        ("x.html", HTML, "application/octet-stream", "attachment"),
        ("x.svg", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", None, None),
        ("x.png", HTML, "application/octet-stream", "attachment"),
        ("x.pdf", PNG, "image/png", "inline"),
        ("x.html", PNG, "image/png", "inline"),
        ("x.txt", PDF, "application/pdf", "inline"),
        ("x.png", PNG, "image/png", "inline"),
    ],
)
def test_download_type_is_sniffed_from_the_bytes_not_the_name(
    auth_client, user, name, content, mime, disposition
):
    mime = mime or "application/octet-stream"
    disposition = disposition or "attachment"
    expense = _stored(user, name, content)
    response = auth_client.get(f"{EXPENSES}{expense.pk}/receipt/")
    assert response.status_code == 200
    assert response["Content-Type"] == mime
    assert response["Content-Disposition"].startswith(disposition)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == content


def test_a_receipt_whose_file_is_gone_is_404_not_500(auth_client, user, media):
    expense = _stored(user, "x.png", PNG)
    (media / expense.receipt.name).unlink()
    response = auth_client.get(f"{EXPENSES}{expense.pk}/receipt/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


# --- no orphan files ------------------------------------------------------------------


def test_a_create_that_fails_after_storing_the_file_leaves_no_file(auth_client, media, monkeypatch):
    import budgets.services

    def alerts_fail(**kwargs):
        raise RuntimeError("budget alerts broke")

    # expense_create stores the receipt in ledger, then fails in its own transaction
    # (budgets' receiver of `expenses_written`).
    monkeypatch.setattr(budgets.services, "budget_alerts_for_expense_dates", alerts_fail)
    auth_client.raise_request_exception = False
    response = auth_client.post(EXPENSES, form(receipt=png()), format="multipart")
    assert response.status_code == 500
    assert Expense.objects.count() == 0
    assert files_in(media) == []


def test_a_create_refused_by_the_database_leaves_no_file(auth_client, media, monkeypatch):
    from django.db import IntegrityError

    def insert_refused(self, *args, **kwargs):
        raise IntegrityError("refused")

    monkeypatch.setattr(Income, "save", insert_refused)
    auth_client.raise_request_exception = False
    response = auth_client.post("/api/v1/incomes/", form(receipt=png()), format="multipart")
    assert response.status_code >= 400
    assert files_in(media) == []


def test_an_update_that_fails_keeps_the_old_file_and_drops_the_new(auth_client, media, monkeypatch):
    created = auth_client.post(EXPENSES, form(receipt=png()), format="multipart").json()
    before = files_in(media)
    assert len(before) == 1

    import budgets.services

    def alerts_fail(**kwargs):
        raise RuntimeError("budget alerts broke")

    monkeypatch.setattr(budgets.services, "budget_alerts_for_expense_dates", alerts_fail)
    auth_client.raise_request_exception = False
    response = auth_client.patch(
        f"{EXPENSES}{created['id']}/", {"receipt": png("new.png")}, format="multipart"
    )
    assert response.status_code == 500
    assert files_in(media) == before
    assert Expense.objects.get(pk=created["id"]).receipt.name == before[0]


def test_replacing_a_receipt_deletes_the_old_file_after_commit(
    auth_client, media, django_capture_on_commit_callbacks
):
    created = auth_client.post(EXPENSES, form(receipt=png()), format="multipart").json()
    old = files_in(media)
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.patch(
            f"{EXPENSES}{created['id']}/", {"receipt": png("new.png")}, format="multipart"
        )
    assert response.status_code == 200
    now = files_in(media)
    assert len(now) == 1 and now != old
    assert Expense.objects.get(pk=created["id"]).receipt.name == now[0]


def test_clearing_a_receipt_deletes_its_file_after_commit(
    auth_client, media, django_capture_on_commit_callbacks
):
    created = auth_client.post(EXPENSES, form(receipt=png()), format="multipart").json()
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.patch(
            f"{EXPENSES}{created['id']}/", {"receipt": None}, format="json"
        )
    assert response.status_code == 200 and response.json()["receipt"] is None
    assert files_in(media) == []


def test_deleting_the_account_deletes_its_receipt_files_only(
    auth_client, other_client, media, password, django_capture_on_commit_callbacks
):
    auth_client.post(EXPENSES, form(receipt=png()), format="multipart")
    auth_client.post(
        "/api/v1/incomes/",
        form(receipt=SimpleUploadedFile("r.pdf", PDF, content_type="application/pdf")),
        format="multipart",
    )
    kept = other_client.post(EXPENSES, form(receipt=png()), format="multipart").json()
    assert len(files_in(media)) == 3
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.delete("/api/v1/auth/me/", {"password": password}, format="json")
    assert response.status_code == 204
    assert files_in(media) == [Expense.objects.get(pk=kept["id"]).receipt.name]


def test_a_failed_account_deletion_keeps_the_files(
    auth_client, user, media, django_capture_on_commit_callbacks, monkeypatch
):
    from users import services

    auth_client.post(EXPENSES, form(receipt=png()), format="multipart")

    def refuse(self, *args, **kwargs):
        raise RuntimeError("delete failed")

    monkeypatch.setattr(type(user), "delete", refuse)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        services.user_delete(user=user)
    assert len(files_in(media)) == 1
