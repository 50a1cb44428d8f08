"""API docs work offline, the schema is valid OpenAPI 3, health reports the database."""

from unittest import mock

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.db import OperationalError
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


def test_schema_is_valid_openapi_with_bearer_auth(api_client):
    response = api_client.get("/api/v1/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    schemes = schema["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}.items() <= schemes[
        "jwtAuth"
    ].items()
    assert "/api/v1/auth/token/" in schema["paths"]
    assert schema["paths"]["/api/v1/auth/me/"]["get"]["security"] == [{"jwtAuth": []}]
    assert schema["paths"]["/api/v1/auth/register/"]["post"].get("security", [{}]) == [{}]


@pytest.mark.parametrize("path", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_docs_pages_use_local_assets_only(api_client, path):
    response = api_client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert "drf_spectacular_sidecar" in html
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html
    for asset in (
        ["swagger-ui-dist/swagger-ui-bundle.js"]
        if "docs" in path
        else ["redoc/bundles/redoc.standalone.js"]
    ):
        assert finders.find(f"drf_spectacular_sidecar/{asset}"), asset


@pytest.mark.parametrize("path", ["/api/v1/health/", "/health/"])
def test_health_ok(api_client, path):
    response = api_client.get(path)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_health_503_when_database_unreachable(api_client):
    with mock.patch(
        "core.views.connection.ensure_connection", side_effect=OperationalError("down")
    ):
        response = api_client.get("/api/v1/health/")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_admin_lists_users_and_groups(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "x")
    client.force_login(admin)
    assert client.get("/admin/users/user/?q=root").status_code == 200
    assert client.get(f"/admin/users/user/{admin.pk}/change/").status_code == 200
    assert client.get("/admin/auth/group/").status_code == 200


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


def test_schema_documents_the_error_statuses_of_spec_section_3(api_client):
    # Found by tests/test_contract.py: 401/404/429 and error bodies were undocumented.
    schema = api_client.get("/api/v1/schema/?format=json").json()
    error = {"$ref": "#/components/schemas/Error"}
    for name, operation in _operations(schema):
        responses = operation["responses"]
        if any(operation.get("security", [])):
            assert "401" in responses, name
        if any(p["in"] == "path" or p["name"] == "page" for p in operation.get("parameters", [])):
            assert "404" in responses, name
        if "requestBody" in operation:
            assert "400" in responses, name
    paths = schema["paths"]
    assert (
        paths["/api/v1/expenses/{id}/"]["get"]["responses"]["404"]["content"]["application/json"][
            "schema"
        ]
        == error
    )
    assert "429" in paths["/api/v1/auth/token/"]["post"]["responses"]
    assert "403" in paths["/api/v1/rates/"]["post"]["responses"]
    assert "401" in paths["/api/v1/auth/token/refresh/"]["post"]["responses"]
    page = next(p for p in paths["/api/v1/categories/"]["get"]["parameters"] if p["name"] == "page")
    assert page["schema"]["minimum"] == 1


@pytest.mark.parametrize("component", ["Expense", "Income", "Budget", "RecurringItem"])
def test_category_name_is_documented_as_nullable(api_client, component):
    # Found by tests/test_contract.py: uncategorized rows return `"category_name": null`.
    schema = api_client.get("/api/v1/schema/?format=json").json()
    assert schema["components"]["schemas"][component]["properties"]["category_name"]["nullable"]
