"""Races through the API that used to end in a 500 (PostgreSQL: SQLite serialises writers)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from budgets.models import Budget
from categories.tests.factories import CategoryFactory
from tests.concurrency import require_postgresql, run_concurrently

THREADS = 8


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("overwrite", [False, True])
def test_concurrent_copies_to_one_month_never_fail_and_leave_one_budget_each(
    user, client_for, overwrite
):
    require_postgresql()
    categories = [CategoryFactory(user=user, kind="expense") for _ in range(5)]
    source = date(2026, 3, 1)
    Budget.objects.create(user=user, month=source, scope="overall", amount=Decimal("900"))
    for i, category in enumerate(categories):
        Budget.objects.create(
            user=user, month=source, scope="category", category=category, amount=Decimal(10 + i)
        )
    clients = [client_for(user) for _ in range(THREADS)]
    body = {"from_month": "2026-03", "to_month": "2026-04", "overwrite": overwrite}

    def copy(i: int):
        response = clients[i].post("/api/v1/budgets/copy/", body, format="json")
        return response.status_code, response.json()

    results, errors = run_concurrently(copy, threads=THREADS)
    assert errors == []
    assert [status for status, _ in results] == [200] * THREADS, results
    counts = [body for _, body in results]
    # Every budget was created exactly once; every other copy saw it as existing.
    assert sum(c["created"] for c in counts) == 6
    key = "updated" if overwrite else "skipped"
    assert sum(c[key] for c in counts) == 6 * (THREADS - 1)
    target = Budget.objects.filter(user=user, month=date(2026, 4, 1))
    assert target.count() == 6
    assert sorted((b.scope, b.category_id, b.amount) for b in target) == sorted(
        (b.scope, b.category_id, b.amount) for b in Budget.objects.filter(user=user, month=source)
    )
