"""Stored files on S3-compatible object storage (STORAGE_BACKEND=s3, docs/scaling.md).

Receipts go through Django's storage API, so with django-storages' S3Storage they land in
a bucket that every app server shares. These tests run in-process on both databases
against a real S3 emulator, moto's server, started on 127.0.0.1 for the module: a
receipt uploaded through the API is an object in the bucket, downloads back byte for byte
through the API (members of its book only; never a bucket URL), and goes with its record
or its account; a statement import needs no stored file at all; an unreachable store is a
503, not a 500. The last test reads the environment variables in a fresh interpreter, as
an app server does. tests/scaleout/test_two_instances.py runs two gunicorn servers on it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from expenses.models import Expense
from imports.models import BatchStatus, ImportBatch
from tests.live_server import (
    PROJECT,
    S3_TEST_CREDENTIALS,
    S3_TEST_REGION,
    free_port,
    s3_client,
    s3_env,
    s3_server,
    s3_unavailable_reason,
)

pytestmark = pytest.mark.django_db

EXPENSES = "/api/v1/expenses/"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + os.urandom(64)


@dataclass
class Bucket:
    client: Any
    name: str
    endpoint: str

    def keys(self) -> list[str]:
        listed = self.client.list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def body(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()


@pytest.fixture(scope="module")
def s3_endpoint():
    reason = s3_unavailable_reason()
    if reason:
        pytest.skip(reason)
    with s3_server() as endpoint:
        yield endpoint


def s3_storage(endpoint: str, bucket: str, **options: Any) -> dict[str, Any]:
    """STORAGES["default"] as settings.py builds it from s3_env(endpoint, bucket)."""
    from botocore.config import Config

    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint,
            "region_name": S3_TEST_REGION,
            "access_key": S3_TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            "secret_key": S3_TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            "addressing_style": "path",
            "file_overwrite": False,
            "default_acl": None,
            "querystring_auth": True,
            "client_config": Config(
                connect_timeout=2, read_timeout=5, retries={"total_max_attempts": 1}
            ),
            **options,
        },
    }


@pytest.fixture
def media(settings, tmp_path):
    """MEDIA_ROOT, which must stay empty: nothing is stored on the app server's disk."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def bucket(s3_endpoint, settings, media) -> Bucket:
    """A new bucket, and the default storage pointed at it for this test."""
    client = s3_client(s3_endpoint)
    name = f"bt-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=name)
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage(s3_endpoint, name)}
    return Bucket(client, name, s3_endpoint)


def files_in(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def form(**extra):
    return {"amount": "9.99", "date": "2026-03-10", "description": "Taxi", **extra}


def png(name: str = "r.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def pdf(name: str = "r.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


# --- receipts: upload, download, replace, delete ------------------------------------------------


def test_a_receipt_lives_in_the_bucket_and_is_served_only_through_the_api(
    auth_client, other_client, bucket, media, django_capture_on_commit_callbacks
):
    created = auth_client.post(EXPENSES, form(receipt=png()), format="multipart")
    assert created.status_code == 201, created.content
    record = created.json()
    # The record points at the API's download, never at the bucket.
    assert record["receipt"] == f"http://testserver{EXPENSES}{record['id']}/receipt/"

    [key] = bucket.keys()
    assert key.startswith("receipts/expense/") and key.endswith(".png")
    assert Expense.objects.get(pk=record["id"]).receipt.name == key
    assert bucket.body(key) == PNG
    # Private: no grant to everyone (AWS_DEFAULT_ACL unset, no public-read).
    grants = bucket.client.get_object_acl(Bucket=bucket.name, Key=key)["Grants"]
    assert not [g for g in grants if "AllUsers" in g["Grantee"].get("URI", "")]

    url = f"{EXPENSES}{record['id']}/receipt/"
    download = auth_client.get(url)
    assert download.status_code == 200
    assert download["Content-Type"] == "image/png"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content) == PNG
    assert bucket.endpoint not in str(download.headers)  # streamed, not redirected

    outsider = other_client.get(url)
    assert outsider.status_code == 404 and outsider.json()["code"] == "not_found"

    # Replacing it stores the new object and deletes the old one once the write commits.
    with django_capture_on_commit_callbacks(execute=True):
        replaced = auth_client.patch(
            f"{EXPENSES}{record['id']}/", {"receipt": pdf()}, format="multipart"
        )
    assert replaced.status_code == 200, replaced.content
    [new_key] = bucket.keys()
    assert new_key != key and new_key.endswith(".pdf") and bucket.body(new_key) == PDF
    again = auth_client.get(url)
    assert again["Content-Type"] == "application/pdf"
    assert b"".join(again.streaming_content) == PDF

    # Deleting the record deletes its object.
    with django_capture_on_commit_callbacks(execute=True):
        deleted = auth_client.delete(f"{EXPENSES}{record['id']}/")
    assert deleted.status_code == 204
    assert bucket.keys() == []
    assert files_in(media) == []  # not a byte on the app server's disk


def test_the_same_upload_twice_makes_two_objects_never_an_overwrite(auth_client, bucket):
    first = auth_client.post(EXPENSES, form(receipt=png("same.png")), format="multipart")
    second = auth_client.post(EXPENSES, form(receipt=png("same.png")), format="multipart")
    assert first.status_code == second.status_code == 201
    names = {Expense.objects.get(pk=r.json()["id"]).receipt.name for r in (first, second)}
    assert len(names) == 2 and set(bucket.keys()) == names


def test_a_receipt_whose_object_is_gone_is_404(auth_client, bucket):
    created = auth_client.post(EXPENSES, form(receipt=png()), format="multipart").json()
    [key] = bucket.keys()
    bucket.client.delete_object(Bucket=bucket.name, Key=key)
    response = auth_client.get(f"{EXPENSES}{created['id']}/receipt/")
    assert response.status_code == 404
    assert response.json() == {
        "detail": "This record's receipt file is missing.",
        "code": "not_found",
    }


def test_deleting_the_account_deletes_its_objects_only(
    auth_client, other_client, bucket, password, django_capture_on_commit_callbacks
):
    auth_client.post(EXPENSES, form(receipt=png()), format="multipart")
    auth_client.post("/api/v1/incomes/", form(receipt=pdf()), format="multipart")
    kept = other_client.post(EXPENSES, form(receipt=png()), format="multipart").json()
    assert len(bucket.keys()) == 3
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.delete("/api/v1/auth/me/", {"password": password}, format="json")
    assert response.status_code == 204
    assert bucket.keys() == [Expense.objects.get(pk=kept["id"]).receipt.name]


# --- an unreachable store is a retryable 503 ----------------------------------------------------

UNAVAILABLE = {
    "detail": "The file storage is unavailable; retry shortly.",
    "code": "storage_unavailable",
}


def test_an_unreachable_store_is_503_and_stores_nothing(auth_client, bucket, settings):
    stored = auth_client.post(EXPENSES, form(receipt=png()), format="multipart").json()
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage(dead, bucket.name)}

    upload = auth_client.post(EXPENSES, form(receipt=png()), format="multipart")
    assert upload.status_code == 503, upload.content
    assert upload.json() == UNAVAILABLE and upload["Retry-After"] == "5"
    assert Expense.objects.count() == 1  # the record was not written without its file

    download = auth_client.get(f"{EXPENSES}{stored['id']}/receipt/")
    assert download.status_code == 503
    assert download.json() == UNAVAILABLE and download["Retry-After"] == "5"


# --- statement imports keep no file ---------------------------------------------------------------


def test_a_statement_import_uploads_and_commits_with_nothing_stored(
    auth_client, user, bucket, media
):
    content = b"Date,Description,Amount\n2026-03-01,Rent,-900\n2026-03-03,Salary,2500\n"
    upload = SimpleUploadedFile("march.csv", content, content_type="text/csv")
    preview = auth_client.post("/api/v1/imports/", {"file": upload}, format="multipart")
    assert preview.status_code == 201, preview.content
    # The statement is parsed at upload; its rows wait in the database, not in a file, so
    # any app server (or worker) can commit it.
    batch = ImportBatch.objects.get(pk=preview.json()["id"])
    assert len(batch.rows) == 2
    committed = auth_client.post(f"/api/v1/imports/{batch.pk}/commit/", {}, format="json")
    assert committed.status_code == 200, committed.content
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMMITTED
    assert Expense.objects.filter(user=user, import_batch=batch).count() == 1
    assert bucket.keys() == [] and files_in(media) == []


# --- the environment variables, read by a fresh interpreter ---------------------------------------

PROBE = """
import json
import django
django.setup()
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
name = default_storage.save("receipts/probe.txt", ContentFile(b"from the env"))
again = default_storage.save("receipts/probe.txt", ContentFile(b"second"))
options = settings.STORAGES["default"]["OPTIONS"]
backend = type(default_storage._wrapped)
print(json.dumps({
    "backend": f"{backend.__module__}.{backend.__name__}",
    "names": [name, again],
    "overwrite": options["file_overwrite"], "acl": options["default_acl"],
    "signed": options["querystring_auth"],
}))
"""


def _settings_process(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STORAGE_"))}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT,
        env={**base, "DJANGO_SETTINGS_MODULE": "budget_tracker.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_environment_variables_put_stored_files_in_the_bucket(s3_endpoint):
    client = s3_client(s3_endpoint)
    name = f"bt-env-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    result = _settings_process(
        {**s3_env(s3_endpoint, name), "DATABASE_URL": "sqlite://:memory:"}, PROBE
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["backend"] == "storages.backends.s3.S3Storage"
    assert (seen["overwrite"], seen["acl"], seen["signed"]) == (False, None, True)
    first, second = seen["names"]
    assert first == "receipts/probe.txt" and second != first  # a taken name is never overwritten
    bucket = Bucket(client, name, s3_endpoint)
    assert bucket.keys() == sorted([first, second])
    assert bucket.body(first) == b"from the env"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STORAGE_BACKEND": "s3"}, "AWS_STORAGE_BUCKET_NAME must be set when STORAGE_BACKEND=s3."),
        ({"STORAGE_BACKEND": "ftp"}, "STORAGE_BACKEND must be 'local' or 's3', not 'ftp'."),
    ],
)
def test_a_misconfigured_storage_refuses_to_start_naming_the_variable(env, message):
    result = _settings_process(env, "import budget_tracker.settings")
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {message}" in result.stderr
