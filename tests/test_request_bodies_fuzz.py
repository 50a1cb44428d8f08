"""Generated hostile request bodies: deep nesting, huge numbers, odd charsets, any endpoint.

`core.parsers.StrictJSONParser` reads every JSON body in the API; these properties
hold for it on authenticated and anonymous endpoints alike: never a 5xx, always a
JSON answer, and nothing stored when the body is refused.
"""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.parsers import MAX_JSON_DEPTH
from expenses.models import Expense
from tests.fuzz_depth import examples

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("post", "/api/v1/auth/token/"),
    ("post", "/api/v1/auth/register/"),
    ("post", "/api/v1/expenses/"),
    ("post", "/api/v1/budgets/"),
    ("post", "/api/v1/goals/"),
    ("post", "/api/v1/rules/"),
    ("patch", "/api/v1/auth/me/"),
]
FUZZ = settings(
    max_examples=examples(60),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def nested(depth: int, kind: str) -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


@FUZZ
@given(
    depth=st.one_of(st.integers(1, 80), st.sampled_from([999, 1000, 1001, 5000, 100_000])),
    kind=st.sampled_from(["list", "dict"]),
    endpoint=st.sampled_from(ENDPOINTS),
)
def test_nesting_of_any_depth_is_answered_with_json_and_never_a_5xx(
    auth_client, depth, kind, endpoint
):
    cache.clear()  # the login/register throttles count every example
    method, path = endpoint
    response = getattr(auth_client, method)(
        path, nested(depth, kind), content_type="application/json"
    )
    assert response.status_code < 500
    assert response["Content-Type"].startswith("application/json")
    if depth > MAX_JSON_DEPTH:
        assert response.status_code == 400
        assert "nested deeper" in json.dumps(response.json())
    assert not Expense.objects.exists()


number_texts = st.one_of(
    st.builds(lambda m, e: f"{m}e{e}", st.integers(-9, 9), st.integers(-(10**7), 10**7)),
    st.sampled_from(["1e1000000", "-1E-999999", "NaN", "Infinity", "-Infinity", "1" * 400]),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
)


@FUZZ
@given(number=number_texts, field=st.sampled_from(["amount", "date", "description", "tags"]))
def test_raw_json_numbers_anywhere_never_break_an_expense_write(auth_client, number, field):
    body = {"amount": "1.00", "date": "2026-01-01", "description": "x"}
    raw = json.dumps(body).replace(f'"{field}": ', f'"{field}": {number}, "_": ', 1)
    if field == "tags":
        raw = raw[:-1] + f', "tags": [{number}]}}'
    response = auth_client.post("/api/v1/expenses/", raw, content_type="application/json")
    assert response.status_code in (201, 400), response.content[:300]
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("charset", ["undefined", "utf-99", "x" * 300, "utf-16"])
def test_any_declared_charset_is_answered_with_json(auth_client, charset):
    body = json.dumps({"amount": "1.00", "date": "2026-01-01", "description": "x"})
    response = auth_client.post(
        "/api/v1/expenses/", body.encode(), content_type=f"application/json; charset={charset}"
    )
    assert response.status_code in (201, 400, 415)
    assert response["Content-Type"].startswith("application/json")


def test_a_json_body_over_the_limit_is_413_and_stores_nothing(auth_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"amount": "1.00", "date": "2026-01-01", "description": "x" * 20_000})
    response = auth_client.post("/api/v1/expenses/", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert not Expense.objects.exists()


@pytest.mark.parametrize("where", ["currency", "description", "key"])
def test_unpaired_surrogates_are_refused_with_400(auth_client, where):
    body = {"amount": "1.00", "date": "2026-01-01", "description": "x", "currency": "USD"}
    raw = json.dumps(body)
    if where == "key":
        raw = raw[:-1] + ', "\\ud800": 1}'
    else:
        raw = raw.replace(f'"{where}": "', f'"{where}": "\\udfff', 1)
    response = auth_client.post("/api/v1/expenses/", raw, content_type="application/json")
    assert response.status_code == 400
    assert "surrogate" in json.dumps(response.json())
    assert not Expense.objects.exists()
