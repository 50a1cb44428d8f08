"""GET /ai/insights/: the forecast against the budget, unusual spending, tips (rules or LLM)."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import ai.llm
from budgets.services import budget_upsert

from .test_forecast_helpers import crafted_history, frozen_clock

pytestmark = pytest.mark.django_db
URL = "/api/v1/ai/insights/"


@pytest.fixture
def frozen_today() -> Iterator[date]:
    """Today is 2026-03-10 (ask for it before the clients, so their tokens are issued then)."""
    with frozen_clock() as today:
        yield today


class FakeProvider:
    enabled = True

    def __init__(self, *, tips=None, rationale=None, error=None):
        self._tips, self._rationale, self._error = tips, rationale, error
        self.facts = []

    def tips(self, facts):
        self.facts.append(facts)
        if self._error:
            raise ai.llm.LLMUnavailable(self._error)
        return self._tips

    def rationale(self, facts):
        return self._rationale

    def choose_category(self, text, candidates):  # pragma: no cover - not used here
        return None


def use_llm(monkeypatch, provider: FakeProvider) -> FakeProvider:
    monkeypatch.setattr(ai.llm, "llm", lambda: provider)
    return provider


def with_budget(user, amount: int, **data) -> None:
    budget_upsert(
        book=user.personal_book,
        user=user,
        data={"month": date(2026, 3, 1), "scope": "overall", "amount": amount, **data},
    )


def test_rule_based_insights_without_an_llm(frozen_today, user, auth_client, settings):
    settings.AI_PROVIDER = ""
    crafted_history(user)
    with_budget(user, 1700)
    response = auth_client.get(URL)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["source"] == "rules" and body["fallback"] is None
    assert body["forecast"]["expected"] == "1740.00"
    assert body["forecast"]["typical_month"] == "1400.00"  # Dec 300, Jan 1400, Feb 1500
    assert body["budget"]["scope"] == "overall"
    assert body["budget"]["over"] is True
    assert body["budget"]["difference"] == "40.00"
    assert "1740.00 USD" in body["summary"]
    assert any("40.00 USD over your budget of 1700.00 USD" in tip for tip in body["tips"])
    # (1700 - 320 spent - 1000 rent) over the 21 days left.
    assert any("18.10 USD a day for the 21 days left" in tip for tip in body["tips"])
    assert any(
        "Food is heading for 740.00 USD, 85.0% above your typical month (400.00 USD)" in tip
        for tip in body["tips"]
    )
    assert any("1 recurring bill still due" in tip for tip in body["tips"])
    # Housing's month (the rent) is its typical one: only Food differs (740 vs 400).
    assert body["categories"] == [
        {
            "category": body["categories"][0]["category"],
            "category_name": "Food",
            "expected": "740.00",
            "typical": "400.00",
            "change": "340.00",
            "change_percent": "85.0",
        }
    ]


def test_on_track_under_the_budget(frozen_today, user, auth_client):
    crafted_history(user)
    with_budget(user, 2000)
    body = auth_client.get(URL).json()
    assert body["budget"]["over"] is False
    assert any(tip.startswith("You are on track") for tip in body["tips"])


def test_category_budget_heading_over_is_named(frozen_today, user, auth_client):
    items = crafted_history(user)
    with_budget(user, 200, scope="category", category=items["food"])
    body = auth_client.get(URL).json()
    assert body["budget"]["scope"] == "categories"
    assert body["budget"]["categories_over"][0]["category_name"] == "Food"
    assert body["budget"]["categories_over"][0]["over_by"] == "540.00"
    assert any("Food is heading 540.00 USD over its budget" in tip for tip in body["tips"])


def test_no_budget_is_null(frozen_today, user, auth_client):
    crafted_history(user)
    assert auth_client.get(URL).json()["budget"] is None


def test_llm_writes_the_tips_and_summary_from_the_facts(
    frozen_today, user, auth_client, monkeypatch
):
    crafted_history(user)
    provider = use_llm(monkeypatch, FakeProvider(tips=["Cook at home."], rationale="All fine."))
    body = auth_client.get(URL).json()
    assert body["source"] == "llm" and body["fallback"] is None
    assert body["tips"] == ["Cook at home."]
    assert body["summary"] == "All fine."
    facts = provider.facts[0]
    assert facts["expected_total"] == "1740.00"
    assert facts["categories_vs_typical"] == [
        {"category": "Food", "expected": "740.00", "typical": "400.00"}
    ]
    assert facts["rule_tips"]


@pytest.mark.parametrize("reason", ["timeout", "error", "invalid"])
def test_llm_unavailable_falls_back_to_the_rules_and_says_why(
    frozen_today, user, auth_client, monkeypatch, reason
):
    crafted_history(user)
    use_llm(monkeypatch, FakeProvider(error=reason))
    body = auth_client.get(URL).json()
    assert body["source"] == "rules"
    assert body["fallback"] == reason
    assert body["tips"] and "1740.00 USD" in body["summary"]


def test_llm_without_tips_falls_back_as_invalid(frozen_today, user, auth_client, monkeypatch):
    crafted_history(user)
    use_llm(monkeypatch, FakeProvider(tips=[]))
    body = auth_client.get(URL).json()
    assert (body["source"], body["fallback"]) == ("rules", "invalid")


def test_anomalies_of_the_month_are_counted(frozen_today, user, auth_client, monkeypatch):
    crafted_history(user)
    calls = []

    def anomalies_for_month(*, book, year, month, today):
        calls.append((book.pk, year, month, today))
        return [{"kind": "expense"}, {"kind": "category"}]

    fake = types.ModuleType("ai.anomalies")
    fake.anomalies_for_month = anomalies_for_month
    monkeypatch.setitem(sys.modules, "ai.anomalies", fake)
    body = auth_client.get(URL).json()
    assert body["anomalies"] == 2
    assert calls == [(user.personal_book.pk, 2026, 3, date(2026, 3, 10))]
    assert any("2 unusual expenses or categories" in tip for tip in body["tips"])


def test_past_month_summary(frozen_today, user, auth_client):
    crafted_history(user)
    body = auth_client.get(URL, {"month": "2026-02"}).json()
    assert body["summary"] == "You spent 1500.00 USD this month."
    assert body["forecast"]["low"] == body["forecast"]["high"] == "1500.00"


def test_bad_month_is_a_400(auth_client):
    response = auth_client.get(URL, {"month": "2026-00"})
    assert response.status_code == 400 and "month" in response.json()


def test_outsider_gets_404_and_viewer_reads(user, other_user, client_for, shared_book):
    book = shared_book(owner=user)
    assert client_for(other_user).get(f"/api/v1/books/{book.pk}/ai/insights/").status_code == 404
    viewer_book = shared_book(owner=user, viewers=[other_user], name="Viewed")
    response = client_for(other_user).get(f"/api/v1/books/{viewer_book.pk}/ai/insights/")
    assert response.status_code == 200
    assert response.json()["source"] in {"rules", "llm"}


def test_query_count_is_bounded(frozen_today, user, auth_client, monkeypatch):
    crafted_history(user)
    with_budget(user, 1700)
    monkeypatch.setitem(sys.modules, "ai.anomalies", types.ModuleType("ai.anomalies"))
    with CaptureQueriesContext(connection) as queries:
        assert auth_client.get(URL).status_code == 200
    assert len(queries) <= 16


def test_against_the_fake_ollama_server(frozen_today, user, auth_client, fake_ollama):
    from .fake_ollama import GOOD_RATIONALE, GOOD_TIPS

    crafted_history(user)
    body = auth_client.get(URL).json()
    assert (body["source"], body["fallback"]) == ("llm", None)
    assert body["tips"] == GOOD_TIPS and body["summary"] == GOOD_RATIONALE
    sent = json.dumps(fake_ollama.requests)
    assert "1740.00" in sent  # the facts went to the model

    fake_ollama.mode = "slow"
    body = auth_client.get(URL).json()
    assert (body["source"], body["fallback"]) == ("rules", "timeout")
    assert "1740.00 USD" in body["summary"]

    fake_ollama.mode = "malformed"
    body = auth_client.get(URL).json()
    assert body["source"] == "rules" and body["fallback"] in {"invalid", "error"}
