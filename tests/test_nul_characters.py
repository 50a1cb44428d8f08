"""NUL characters never reach the database (PostgreSQL refuses them with a 500-causing
error): every documented text field of a JSON body and every documented query parameter
refuses `\\u0000` with a 400 naming it. Driven by the OpenAPI schema, so a new endpoint is
covered without a new test."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db

NUL_TEXT = "x\x00y"
# Checked by their own suites: a backup is one document whose sections are validated as a
# whole (backups/tests), not field by field.
SKIP_BODIES = {("post", "/api/v1/import/backup/")}


@pytest.fixture
def schema(api_client) -> dict[str, Any]:
    response = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _text_fields(schema, operation) -> list[tuple[str, Any]]:
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if not body:
        return []
    fields = []
    for name, prop in _resolve(schema, body["schema"]).get("properties", {}).items():
        prop = _resolve(schema, prop)
        if prop.get("readOnly"):
            continue
        if prop.get("type") == "string":
            fields.append((name, NUL_TEXT))
        elif (
            prop.get("type") == "array"
            and _resolve(schema, prop.get("items", {})).get("type") == "string"
        ):
            fields.append((name, [NUL_TEXT]))
    return fields


def test_every_text_field_of_a_json_body_refuses_nul(schema, client_for, user):
    user.is_superuser = True  # admin-only writes (rates, system categories) too
    user.save()
    client = client_for(user)
    checked, missed = 0, []
    for path, operations in schema["paths"].items():
        if "{" in path:
            continue
        for method, operation in operations.items():
            if method not in ("post", "put", "patch") or (method, path) in SKIP_BODIES:
                continue
            for name, value in _text_fields(schema, operation):
                response = getattr(client, method)(path, {name: value}, format="json")
                body = response.json()
                checked += 1
                if response.status_code != 400 or name not in body:
                    missed.append((method, path, name, response.status_code, body))
    assert checked > 40, checked  # the schema really was walked
    assert missed == []


def test_every_text_field_of_a_record_update_refuses_nul(schema, auth_client):
    created = auth_client.post(
        "/api/v1/expenses/",
        {"amount": "1.00", "date": "2026-03-01", "description": "d"},
        format="json",
    ).json()
    operation = schema["paths"]["/api/v1/expenses/{id}/"]["patch"]
    fields = _text_fields(schema, operation)
    assert {"description", "merchant", "notes", "tags", "currency"} <= {n for n, _ in fields}
    for name, value in fields:
        response = auth_client.patch(f"/api/v1/expenses/{created['id']}/", {name: value})
        assert response.status_code == 400 and name in response.json(), (name, response.json())


def test_every_documented_query_parameter_refuses_nul(schema, auth_client):
    checked = 0
    for path, operations in schema["paths"].items():
        if "{" in path or "get" not in operations:
            continue
        for parameter in operations["get"].get("parameters", []):
            if parameter["in"] != "query":
                continue
            name = parameter["name"]
            response = auth_client.get(path, {name: NUL_TEXT})
            assert response.status_code == 400, (path, name, response.content)
            assert response.json() == {name: ["Null characters are not allowed."]}
            checked += 1
    assert checked > 30, checked
