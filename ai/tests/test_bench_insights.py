"""The bookkeeping of `bench/insights.py` (the benchmark itself never runs in the suite):
its generated rows say what they claim, and its truth tables point at the right rows."""

from __future__ import annotations

import random
import re
from datetime import date, timedelta

import pytest

from bench import insights
from expenses.models import Expense

TODAY = date(2026, 11, 27)


def test_fill_replaces_every_placeholder_with_noise():
    rng = random.Random(1)
    text = insights._fill("POS {n4} SHELL {n4} {code} {city} {mmdd}", rng, date(2026, 5, 12))
    assert "{" not in text
    assert re.fullmatch(r"POS \d{4} SHELL \d{4} [A-Z0-9]{5} [A-Z ]+ [A-Z]{2} 05/12", text)
    again = insights._fill("AMZN MKTP US*{code}", rng, TODAY)
    assert again != insights._fill("AMZN MKTP US*{code}", rng, TODAY)  # ids vary


def test_percentile_interpolates_like_numpy():
    assert insights.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert insights.percentile([10.0] * 3 + [100.0], 95) == pytest.approx(86.5)


@pytest.mark.django_db
def test_anomaly_book_truth_points_at_the_injected_rows():
    book, injected, truth_categories, evaluated = insights.build_anomaly_book(TODAY)
    assert len(evaluated) == insights.EVALUATED_MONTHS
    rows = {e.pk: e for e in Expense.objects.filter(book=book, pk__in=list(injected))}
    assert len(rows) == len(injected)
    kinds = [k for k in injected.values() if k != "category_filler"]
    assert kinds.count("merchant_spike") == insights.INJECT_SPIKES
    assert kinds.count("possible_duplicate") == insights.INJECT_DUPLICATES
    medians = {h[0]: h[2] for h in insights.HOUSEHOLD}
    first_day = date(*evaluated[0], 1)
    for pk, kind in injected.items():
        row = rows[pk]
        assert row.date >= first_day
        if kind == "merchant_spike":
            assert 3 * medians[row.merchant] - 0.01 <= float(row.amount)
            assert float(row.amount) <= 5 * medians[row.merchant] + 0.01
        elif kind == "new_merchant_large":
            assert row.merchant in insights.NEW_MERCHANTS
            assert not Expense.objects.filter(book=book, merchant=row.merchant).exclude(pk=pk)
        elif kind == "possible_duplicate":
            assert (
                Expense.objects.filter(
                    book=book,
                    merchant=row.merchant,
                    amount=row.amount,
                    date__gte=row.date - timedelta(days=2),
                    date__lte=row.date,
                )
                .exclude(pk=pk)
                .exists()
            )
    assert len(truth_categories) == insights.INJECT_CATEGORY_MONTHS

    result = insights.anomaly_quality(book, injected, truth_categories, evaluated)
    by_type = {r["type"]: r for r in result["by_type"]}
    assert by_type["new_merchant_large"]["injected"] == len(insights.NEW_MERCHANTS)
    assert result["overall"]["injected"] == len(kinds) + len(truth_categories)
    assert 0 < result["overall"]["recall"] <= 100


@pytest.mark.django_db
def test_categorisation_splits_by_time_and_scores_every_baseline():
    book = insights.build_noisy_book(1_500, TODAY)
    result = insights.categorisation(book, "noisy")
    assert result["train_rows"] + result["test_rows"] == 1_500
    assert result["test_rows"] == 300
    assert date.fromisoformat(result["test_from"]) > TODAY - timedelta(days=3 * 365 // 4)
    accuracy = result["accuracy"]
    assert set(accuracy) == {
        "model",
        "rules_then_model",
        "rules",
        "rules_and_keywords",
        "merchant_majority",
    }
    assert all(0 <= value <= 100 for value in accuracy.values())
    # Rules alone leave most records unmatched, so anything learned beats them.
    assert accuracy["model"] > accuracy["rules"]
