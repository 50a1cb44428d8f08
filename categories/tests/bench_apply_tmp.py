"""Measure POST /rules/apply/ over 20k records (not part of the suite)."""
import time
from datetime import date
from decimal import Decimal

import pytest

from categories.models import Category, Rule, RuleOperator, Tag
from expenses.models import Expense
from income.models import Income
from users.tests.factories import UserFactory


@pytest.mark.django_db
def test_bench_apply(client_for, settings):
    settings.RULES_APPLY_SYNC_MAX_RECORDS = 10**9
    user = UserFactory()
    cats = [Category.objects.create(user=user, name=f"C{i}", kind="expense") for i in range(20)]
    tag = Tag.objects.create(user=user, name="auto")
    for i, c in enumerate(cats):
        r = Rule.objects.create(user=user, name=f"r{i}", value=(f"shop{i}\\b" if i % 2 else f"shop{i}x"),
                                operator=RuleOperator.REGEX if i % 2 else RuleOperator.CONTAINS, category=c, priority=i)
        r.add_tags.add(tag)
    Expense.objects.bulk_create([
        Expense(user=user, amount=Decimal("5"), currency="USD", base_amount=Decimal("5"), exchange_rate=1,
                date=date(2026, 1, 1), description=f"SHOP{i % 20} purchase {i}", merchant="m")
        for i in range(20000)], batch_size=2000)
    api = client_for(user)
    api.get("/api/v1/rules/")  # warm up URL conf and imports
    t = time.perf_counter()
    response = api.post("/api/v1/rules/apply/", {}, format="json")
    elapsed = time.perf_counter() - t
    print("\nAPPLY", response.status_code, response.json(), f"{elapsed:.2f}s")
    assert Expense.objects.filter(user=user, category__isnull=False).count() > 0
