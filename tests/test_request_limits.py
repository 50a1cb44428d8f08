"""Requests Django cannot or will not read are a JSON 4xx under /api/, never a 500 or an
HTML page (SPEC §3): bodies over the limit, too many fields or files, broken multipart,
unreadable bodies, a bad Host header, NUL characters in the URL."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import UnreadablePostError
from django.test import Client, override_settings
from django.urls import include, path

from expenses.models import Expense
from users.models import User

pytestmark = pytest.mark.django_db

EXPENSES = "/api/v1/expenses/"
LOGIN = "/api/v1/auth/token/"
REGISTER = "/api/v1/auth/register/"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


def _plain_view(request):
    """A non-DRF view under /api/ that reads the body, as Django's own views do."""
    from django.http import JsonResponse

    return JsonResponse({"fields": len(request.POST)})


def _suspicious(request):
    from django.core.exceptions import PermissionDenied, SuspiciousFileOperation

    if request.GET.get("kind") == "forbidden":
        raise PermissionDenied
    raise SuspiciousFileOperation("../../etc/passwd")


urlpatterns = [
    path("api/v1/plain/", _plain_view),
    path("api/v1/suspicious/", _suspicious),
    path("", include("budget_tracker.urls")),
]
handler400 = "core.views.handler400"
handler403 = "core.views.handler403"
handler404 = "core.views.handler404"
handler500 = "core.views.handler500"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DEBUG = False


def assert_json_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    if code is not None:
        assert body["code"] == code, body
    return body


def expense_form(**extra):
    return {"amount": "9.99", "date": "2026-03-10", "description": "Taxi", **extra}


def stored_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- 1. bodies over the limit, too many fields or files --------------------------------


@pytest.mark.parametrize("url", [EXPENSES, LOGIN, REGISTER])
def test_json_body_over_the_limit_is_413(auth_client, settings, url):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"description": "x" * 2000})
    response = auth_client.post(url, data=body, content_type="application/json")
    detail = assert_json_error(response, 413, "too_large")["detail"]
    assert "1000 bytes" in detail
    assert Expense.objects.count() == 0


@pytest.mark.parametrize("url", [EXPENSES, LOGIN, REGISTER])
def test_json_nested_a_thousand_deep_is_400(auth_client, url):
    response = auth_client.post(url, data="[" * 1000 + "]" * 1000, content_type="application/json")
    assert_json_error(response, 400, "parse_error")


@pytest.mark.parametrize("url", [LOGIN, REGISTER])
def test_form_body_over_the_limit_is_413(api_client, settings, url):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api_client.post(
        url, data="username=" + "x" * 5000, content_type="application/x-www-form-urlencoded"
    )
    assert_json_error(response, 413, "too_large")


@pytest.mark.parametrize("url", [LOGIN, REGISTER])
def test_too_many_form_fields_is_400(api_client, settings, url):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    body = "&".join(f"f{i}=1" for i in range(50))
    response = api_client.post(url, data=body, content_type="application/x-www-form-urlencoded")
    assert_json_error(response, 400, "too_many_fields")
    assert User.objects.count() == 0


def test_multipart_field_over_the_limit_is_413_and_stores_nothing(auth_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    upload = SimpleUploadedFile("r.png", PNG, content_type="image/png")
    data = expense_form(notes="n" * 5000, receipt=upload)
    response = auth_client.post(EXPENSES, data, format="multipart")
    assert_json_error(response, 413, "too_large")
    assert Expense.objects.count() == 0
    assert stored_files(settings) == []


def test_too_many_multipart_fields_is_400(auth_client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    data = {**expense_form(), **{f"f{i}": "1" for i in range(50)}}
    response = auth_client.post(EXPENSES, data, format="multipart")
    assert_json_error(response, 400, "too_many_fields")
    assert Expense.objects.count() == 0


def test_too_many_files_is_400_and_stores_nothing(auth_client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    files = [SimpleUploadedFile(f"r{i}.png", PNG, content_type="image/png") for i in range(5)]
    response = auth_client.post(EXPENSES, expense_form(receipt=files), format="multipart")
    assert_json_error(response, 400, "too_many_files")
    assert Expense.objects.count() == 0
    assert stored_files(settings) == []


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"no boundary at all"),
        ("multipart/form-data; boundary=\x00", b"--\x00\r\n"),
        (
            "multipart/form-data; boundary=zz",
            b'--zz\r\nContent-Disposition: form-data; name="receipt"; filename="r.png"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n--zz--\r\n",
        ),
    ],
)
def test_broken_multipart_is_400(auth_client, content_type, body):
    response = auth_client.post(EXPENSES, data=body, content_type=content_type)
    assert 400 <= response.status_code < 500, response.content
    assert response["Content-Type"].startswith("application/json")
    assert Expense.objects.count() == 0


def test_body_over_the_request_limit_is_413_before_it_is_read(auth_client, settings):
    settings.REQUEST_BODY_MAX_BYTES = 2000
    upload = SimpleUploadedFile("r.png", PNG + b"\0" * 5000, content_type="image/png")
    response = auth_client.post(EXPENSES, expense_form(receipt=upload), format="multipart")
    assert "2000 bytes" in assert_json_error(response, 413, "too_large")["detail"]
    assert stored_files(settings) == []


def test_unreadable_body_is_400(auth_client, monkeypatch):
    from django.core.handlers.wsgi import WSGIRequest

    def broken(self, *args, **kwargs):
        raise UnreadablePostError("client went away")

    monkeypatch.setattr(WSGIRequest, "read", broken)
    monkeypatch.setattr(WSGIRequest, "body", property(broken))
    response = auth_client.post(EXPENSES, expense_form(), format="json")
    assert_json_error(response, 400, "unreadable_body")


@override_settings(ROOT_URLCONF=__name__, DATA_UPLOAD_MAX_NUMBER_FIELDS=10)
def test_errors_raised_outside_drf_are_json_too():
    client = Client(raise_request_exception=False)
    body = "&".join(f"f{i}=1" for i in range(50))
    too_many = client.post(
        "/api/v1/plain/", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert_json_error(too_many, 400, "too_many_fields")
    assert_json_error(client.get("/api/v1/suspicious/"), 400, "bad_request")
    assert_json_error(
        client.get("/api/v1/suspicious/", {"kind": "forbidden"}), 403, "permission_denied"
    )


@override_settings(ROOT_URLCONF=__name__)
def test_too_many_query_parameters_are_400():
    client = Client(raise_request_exception=False)
    query = "&".join(f"q{i}=1" for i in range(1500))
    assert_json_error(client.get(f"/api/v1/expenses/?{query}"), 400, "too_many_fields")


# --- 2. a Host header not in ALLOWED_HOSTS --------------------------------------------


@pytest.mark.parametrize("url", [EXPENSES, LOGIN, "/api/v1/no-such-thing/", "/health/"])
def test_bad_host_under_api_is_json_400(url):
    response = Client(HTTP_HOST="evil.example").get(url)
    body = assert_json_error(response, 400, "disallowed_host")
    assert "evil.example" not in json.dumps(body)


def test_bad_host_elsewhere_keeps_django_page():
    response = Client(HTTP_HOST="evil.example").get("/admin/")
    assert response.status_code == 400
    assert not response["Content-Type"].startswith("application/json")


# --- 6. NUL characters in the URL ------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"search": "a\x00b"},
        {"merchant": "\x00"},
        {"currency": "EU\x00"},
        {"tag": "x\x00"},
        {"ordering": "date\x00"},
        {"cursor": "\x00"},
    ],
)
def test_nul_in_a_query_parameter_is_400_naming_it(auth_client, query):
    response = auth_client.get(EXPENSES, query)
    body = assert_json_error(response, 400)
    assert body == {next(iter(query)): ["Null characters are not allowed."]}


def test_nul_in_a_query_parameter_name_or_the_path_is_400(auth_client):
    assert_json_error(auth_client.get(EXPENSES + "?a%00b=1"), 400)
    assert_json_error(auth_client.get("/api/v1/categories/%00/"), 400, "null_character")
