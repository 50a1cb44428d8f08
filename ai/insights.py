"""A month in a few sentences (SPEC §16, GET /ai/insights/): the forecast against the
budget, the unusual spending found, the categories furthest from their typical month,
and short tips.

The tips and the summary are rule-based sentences built from those figures. With an LLM
provider configured (`AI_PROVIDER`), the provider rewrites them from the same facts;
when it times out, fails or answers something unusable, the rule-based text stands and
`fallback` says why. Facts hold figures and the book's own category names only, never
record descriptions.
"""

from __future__ import annotations

import importlib
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from books.models import Book
from budgets.models import Scope
from budgets.selectors import budget_lines, category_families
from core.money import format_amount

from .forecast import Forecast, forecast

SOURCE_RULES, SOURCE_LLM = "rules", "llm"
TOP_CHANGES = 3
# A category is worth a tip when its month is this far (and this much) from its typical one.
NOTABLE_CHANGE_PERCENT = Decimal(20)


def _optional(module: str) -> Any:
    """An `ai` module written separately (anomalies, llm), or None while it does not exist."""
    try:
        return importlib.import_module(f"ai.{module}")
    except ModuleNotFoundError as exc:
        if exc.name != f"ai.{module}":
            raise
        return None


def _percent(part: Decimal, whole: Decimal) -> Decimal | None:
    if whole <= 0:
        return None
    return (part / whole * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _budget(book: Book, result: Forecast) -> dict[str, Any] | None:
    """The month's overall budget against the expected total (else the category budgets
    added up against their categories' expected spending), and each category budget the
    forecast goes over."""
    lines = budget_lines(book=book, year=result.year, month=result.month)
    if not lines:
        return None
    expected_by_category = {c.category: c.expected for c in result.categories}
    category_lines = [ln for ln in lines if ln.budget.scope == Scope.CATEGORY]
    families = category_families([ln.budget.category_id for ln in category_lines])
    over = []
    budgeted_expected = Decimal(0)
    for line in category_lines:
        family = families.get(line.budget.category_id, [line.budget.category_id])
        expected = sum((expected_by_category.get(c, Decimal(0)) for c in family), Decimal(0))
        budgeted_expected += expected
        if expected > line.available:
            over.append(
                {
                    "category": line.budget.category_id,
                    "category_name": line.budget.category.name,
                    "budget": line.available,
                    "expected": expected,
                    "over_by": expected - line.available,
                }
            )
    overall = next((ln for ln in lines if ln.budget.scope == Scope.OVERALL), None)
    if overall is not None:
        scope, amount, expected = "overall", overall.available, result.expected
    else:
        scope = "categories"
        amount = sum((ln.available for ln in category_lines), Decimal(0))
        expected = budgeted_expected
    return {
        "scope": scope,
        "amount": amount,
        "expected": expected,
        "difference": expected - amount,
        "over": expected > amount,
        "categories_over": over,
    }


def _changes(result: Forecast) -> list[dict[str, Any]]:
    """The categories whose expected month is furthest from their typical month."""
    if not result.history_months:
        return []
    rows = []
    for item in result.categories:
        change = item.expected - item.typical_month
        if change == 0:
            continue
        rows.append(
            {
                "category": item.category,
                "category_name": item.category_name,
                "expected": item.expected,
                "typical": item.typical_month,
                "change": change,
                "change_percent": _percent(change, item.typical_month),
            }
        )
    rows.sort(key=lambda row: (-abs(row["change"]), row["category_name"].casefold()))
    return rows[:TOP_CHANGES]


def _anomalies(book: Book, result: Forecast, today: date) -> int | None:
    module = _optional("anomalies")
    find = getattr(module, "anomalies_for_month", None)
    if find is None:
        return None
    return len(find(book=book, year=result.year, month=result.month, today=today))


def _rule_text(
    result: Forecast,
    budget: dict[str, Any] | None,
    changes: list[dict[str, Any]],
    anomalies: int | None,
) -> tuple[str, list[str]]:
    currency = result.currency

    def money(value: Decimal) -> str:
        return f"{format_amount(value, currency)} {currency}"

    tips: list[str] = []
    if result.state == "past":
        summary = f"You spent {money(result.expected)} this month."
    elif result.state == "current":
        summary = (
            f"You have spent {money(result.spent)} so far and are on course for about "
            f"{money(result.expected)} by {result.end.isoformat()} "
            f"(likely between {money(result.low)} and {money(result.high)})."
        )
    else:
        summary = (
            f"This month is likely to cost about {money(result.expected)} "
            f"(between {money(result.low)} and {money(result.high)})."
        )
    if budget is not None:
        label = "budget" if budget["scope"] == "overall" else "category budgets"
        if budget["over"]:
            tips.append(
                f"The month is heading {money(budget['difference'])} over your {label} "
                f"of {money(budget['amount'])}."
            )
            days_left = (result.end - result.as_of).days if result.state == "current" else 0
            room = budget["amount"] - result.spent - result.recurring
            if days_left > 0 and room > 0 and budget["scope"] == "overall":
                tips.append(
                    f"To stay within it, keep other spending to about "
                    f"{money(room / days_left)} a day for the {days_left} days left."
                )
        else:
            tips.append(
                f"You are on track: about {money(budget['expected'])} of your {label} of "
                f"{money(budget['amount'])}."
            )
        for line in budget["categories_over"][:TOP_CHANGES]:
            tips.append(
                f"{line['category_name']} is heading {money(line['over_by'])} over its "
                f"budget of {money(line['budget'])}."
            )
    for row in changes:
        percent = row["change_percent"]
        if row["change"] > 0 and (percent is None or percent >= NOTABLE_CHANGE_PERCENT):
            above = f"{percent}% " if percent is not None else ""
            tips.append(
                f"{row['category_name']} is heading for {money(row['expected'])}, {above}above "
                f"your typical month ({money(row['typical'])})."
            )
        elif row["change"] < 0 and percent is not None and -percent >= NOTABLE_CHANGE_PERCENT:
            tips.append(
                f"{row['category_name']} is {-percent}% below your typical month "
                f"({money(row['typical'])}): nice."
            )
    if result.recurring_count and result.state != "past":
        tips.append(
            f"{result.recurring_count} recurring bill"
            f"{'s' if result.recurring_count != 1 else ''} still due this month: "
            f"{money(result.recurring)}."
        )
    if anomalies:
        tips.append(
            f"{anomalies} unusual expense{'s' if anomalies != 1 else ''} or categor"
            f"{'ies' if anomalies != 1 else 'y'} this month: check them under anomalies."
        )
    if result.state != "past" and result.history_months < 3:
        tips.append("Record a few more months for a sharper forecast.")
    return summary, tips


def _facts(
    result: Forecast,
    budget: dict[str, Any] | None,
    changes: list[dict[str, Any]],
    anomalies: int | None,
    tips: list[str],
) -> dict[str, Any]:
    """What the LLM may know: figures and category names, never record text."""
    currency = result.currency

    def money(value: Decimal) -> str:
        return format_amount(value, currency)

    return {
        "month": f"{result.year:04d}-{result.month:02d}",
        "currency": currency,
        "state": result.state,
        "days_left": max(0, (result.end - result.as_of).days),
        "spent_so_far": money(result.spent),
        "recurring_still_due": money(result.recurring),
        "expected_total": money(result.expected),
        "low": money(result.low),
        "high": money(result.high),
        "typical_month": money(result.typical_month) if result.typical_month is not None else None,
        "budget": (
            {k: money(budget[k]) for k in ("amount", "expected", "difference")} if budget else None
        ),
        "categories_vs_typical": [
            {
                "category": row["category_name"],
                "expected": money(row["expected"]),
                "typical": money(row["typical"]),
            }
            for row in changes
        ],
        "unusual_items": anomalies,
        "rule_tips": tips,
    }


def _llm_text(facts: dict[str, Any]) -> tuple[str | None, list[str] | None, str | None]:
    """(summary, tips, fallback reason) from the provider; (None, None, None) when none is
    configured."""
    module = _optional("llm")
    if module is None:
        return None, None, None
    provider = module.llm()
    if not provider.enabled:
        return None, None, None
    try:
        tips = provider.tips(facts)
        if not tips:
            return None, None, "invalid"
        summary = provider.rationale(facts)
    except module.LLMUnavailable as exc:
        return None, None, getattr(exc, "reason", None) or str(exc) or "error"
    return summary, [str(tip) for tip in tips], None


def insights(*, book: Book, year: int, month: int, today: date) -> dict[str, Any]:
    """The payload of GET /ai/insights/ (amounts as Decimals)."""
    result = forecast(book=book, year=year, month=month, as_of=today)
    budget = _budget(book, result)
    changes = _changes(result)
    anomalies = _anomalies(book, result, today)
    summary, tips = _rule_text(result, budget, changes, anomalies)
    source, fallback = SOURCE_RULES, None
    llm_summary, llm_tips, fallback = _llm_text(_facts(result, budget, changes, anomalies, tips))
    if llm_tips:
        source, tips = SOURCE_LLM, llm_tips
        summary = llm_summary or summary
    return {
        "month": f"{year:04d}-{month:02d}",
        "as_of": today,
        "currency": result.currency,
        "forecast": {
            "spent": result.spent,
            "recurring_due": result.recurring,
            "expected": result.expected,
            "low": result.low,
            "high": result.high,
            "typical_month": result.typical_month,
            "method": result.method,
        },
        "budget": budget,
        "anomalies": anomalies,
        "categories": changes,
        "summary": summary,
        "tips": tips,
        "source": source,
        "fallback": fallback,
    }
