"""Expense-only behaviour: payment methods, receipts, the edit window."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from expenses.models import Expense
from expenses.tests.factories import ExpenseFactory
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/expenses/"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15"
    b"\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def form(**extra):
    return {"amount": "9.99", "date": "2026-03-10", "description": "Taxi", **extra}


def test_payment_method_and_merchant(auth_client):
    response = auth_client.post(URL, form(payment_method="upi", merchant="  Uber "), format="json")
    assert response.status_code == 201
    assert response.json()["payment_method"] == "upi"
    assert response.json()["merchant"] == "Uber"
    assert auth_client.post(URL, form(), format="json").json()["payment_method"] == "other"
    bad = auth_client.post(URL, form(payment_method="cheque"), format="json")
    assert bad.status_code == 400 and "payment_method" in bad.json()
    assert auth_client.get(URL, {"payment_method": "upi"}).json()["count"] == 1
    assert auth_client.get(URL, {"payment_method": "cheque"}).status_code == 400


@pytest.mark.parametrize(
    ("content", "name", "mime"), [(PNG, "r.png", "image/png"), (PDF, "r.pdf", "application/pdf")]
)
def test_receipt_upload_and_owner_only_download(
    auth_client, other_client, content, name, mime, tmp_path
):
    upload = SimpleUploadedFile(name, content, content_type=mime)
    response = auth_client.post(
        URL, {**form(), "receipt": upload, "tags": ["a", "b"]}, format="multipart"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["receipt"].endswith(f"/api/v1/expenses/{body['id']}/receipt/")
    assert sorted(body["tags"]) == ["a", "b"]
    download = auth_client.get(body["receipt"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == content
    assert other_client.get(body["receipt"]).status_code == 404
    stored = Expense.objects.get(pk=body["id"]).receipt
    assert name not in stored.name  # random file names

    cleared = auth_client.patch(f"{URL}{body['id']}/", {"receipt": None}, format="json")
    assert cleared.status_code == 200 and cleared.json()["receipt"] is None
    assert auth_client.get(f"{URL}{body['id']}/receipt/").status_code == 404


def test_receipt_of_wrong_type_is_415_and_stores_nothing(auth_client):
    upload = SimpleUploadedFile("r.txt", b"just some text", content_type="image/png")
    response = auth_client.post(URL, {**form(), "receipt": upload}, format="multipart")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_file_type"
    assert Expense.objects.count() == 0


def test_receipt_too_large_is_413_and_stores_nothing(auth_client, settings):
    settings.RECEIPT_MAX_BYTES = 100
    upload = SimpleUploadedFile("r.pdf", PDF + b"0" * 200, content_type="application/pdf")
    response = auth_client.post(URL, {**form(), "receipt": upload}, format="multipart")
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert Expense.objects.count() == 0


def test_deleting_an_expense_deletes_its_receipt_file(auth_client, tmp_path):
    upload = SimpleUploadedFile("r.png", PNG, content_type="image/png")
    body = auth_client.post(URL, {**form(), "receipt": upload}, format="multipart").json()
    path = Expense.objects.get(pk=body["id"]).receipt.path
    with pytest.MonkeyPatch.context():
        from django.test import TestCase

        with TestCase.captureOnCommitCallbacks(execute=True):
            assert auth_client.delete(f"{URL}{body['id']}/").status_code == 204
    import os

    assert not os.path.exists(path)


def test_edit_window_closes_for_old_expenses(auth_client, user, settings):
    settings.EXPENSE_EDIT_WINDOW_HOURS = 24
    old = ExpenseFactory(user=user)
    Expense.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    fresh = ExpenseFactory(user=user)

    for response in (
        auth_client.patch(f"{URL}{old.id}/", {"amount": "1"}, format="json"),
        auth_client.put(f"{URL}{old.id}/", form(), format="json"),
        auth_client.delete(f"{URL}{old.id}/"),
    ):
        assert response.status_code == 403
        assert response.json()["code"] == "edit_window_closed"
    old.refresh_from_db()
    assert old.amount == 10
    assert auth_client.patch(f"{URL}{fresh.id}/", {"amount": "1"}, format="json").status_code == 200


def test_edit_window_unset_by_default_and_admins_bypass_it(client_for, settings):
    admin = UserFactory()
    admin.groups.add(Group.objects.get(name="Admin"))
    old = ExpenseFactory(user=admin)
    Expense.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=400))
    client = client_for(admin)
    assert client.patch(f"{URL}{old.id}/", {"amount": "2"}, format="json").status_code == 200
    settings.EXPENSE_EDIT_WINDOW_HOURS = 1
    assert client.delete(f"{URL}{old.id}/").status_code == 204
