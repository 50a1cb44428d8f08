"""Everything under /api/ answers in JSON, whatever goes wrong (SPEC §3)."""

import pytest
from django.test import override_settings
from django.urls import include, path
from rest_framework.test import APIRequestFactory

from core.pagination import StandardPagination


def _boom(request):
    raise RuntimeError("kaboom")


urlpatterns = [
    path("api/v1/boom/", _boom),
    path("", include("budget_tracker.urls")),
]

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [True, False])
def test_unknown_api_path_is_json_404(auth_client, settings, debug):
    settings.DEBUG = debug
    response = auth_client.get("/api/v1/does-not-exist/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.parametrize(
    "path",
    ["/api/v1/expenses/1/receipt.json", "/api/v1/budgets/status.json", "/api/v1/expenses.json"],
)
def test_format_suffixed_paths_are_json_404_not_500(auth_client, path):
    # The router used to add a `.json` twin of every route; @actions without a
    # `format` argument then crashed with a 500.
    response = auth_client.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_wrong_method_is_json_405(api_client):
    response = api_client.get("/api/v1/auth/register/")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_malformed_json_is_400_json(api_client):
    response = api_client.post(
        "/api/v1/auth/register/", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_unsupported_media_type_is_415_json(api_client):
    response = api_client.post("/api/v1/auth/register/", data="x", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


@pytest.mark.parametrize("debug", [True, False])
@override_settings(ROOT_URLCONF=__name__)
def test_unhandled_error_is_json_500_without_traceback(client, settings, debug):
    settings.DEBUG = debug
    client.raise_request_exception = False
    response = client.get("/api/v1/boom/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "A server error occurred.", "code": "server_error"}
    assert b"Traceback" not in response.content and b"kaboom" not in response.content


@pytest.mark.parametrize(
    ("query", "expected"),
    [({}, 50), ({"page_size": "10"}, 10), ({"page_size": "100000"}, 500)],
)
def test_page_size_default_and_cap(query, expected):
    request = APIRequestFactory().get("/", query)
    from rest_framework.request import Request

    assert StandardPagination().get_page_size(Request(request)) == expected


@pytest.mark.parametrize(
    "query", [{"page_size": "abc"}, {"page_size": "0"}, {"page": "x"}, {"page": "-1"}]
)
def test_bad_page_parameters_are_400(query):
    from rest_framework.exceptions import ValidationError
    from rest_framework.request import Request

    request = Request(APIRequestFactory().get("/", query))
    with pytest.raises(ValidationError) as info:
        StandardPagination().paginate_queryset([1, 2, 3], request)
    assert next(iter(query)) in info.value.detail


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_unknown_api_path_is_json_404_for_unsafe_methods_too(user, client_for, method):
    # Found by tests/test_contract.py: `/expenses/0.5/` answered a CSRF 403 page.
    client = client_for(user)
    client.handler.enforce_csrf_checks = True
    response = getattr(client, method)("/api/v1/expenses/0.5/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
