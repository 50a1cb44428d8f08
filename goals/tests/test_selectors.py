"""The derived figures of SPEC §9, checked against hand-computed values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from goals.selectors import (
    compute_figures,
    goals_with_totals,
    recent_window,
    shift_months,
    whole_months_between,
)
from users.tests.factories import UserFactory

from .factories import ContributionFactory, GoalFactory

TODAY = date(2026, 11, 21)


def figures(target="1000.00", saved="0", recent="0", target_date=None, currency="USD"):
    return compute_figures(
        target_amount=Decimal(target),
        target_date=target_date,
        saved=Decimal(saved),
        recent=Decimal(recent),
        today=TODAY,
        currency=currency,
    )


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (date(2026, 11, 21), date(2027, 2, 21), 3),
        (date(2026, 11, 21), date(2027, 2, 20), 2),
        (date(2026, 11, 21), date(2026, 12, 21), 1),
        (date(2026, 11, 21), date(2026, 12, 20), 0),
        (date(2026, 11, 21), date(2026, 11, 21), 0),
        (date(2026, 11, 21), date(2025, 1, 1), 0),
        (date(2027, 1, 31), date(2027, 2, 28), 0),
        (date(2027, 1, 31), date(2027, 3, 31), 2),
    ],
)
def test_whole_months_count_by_day_of_month(start, end, months):
    assert whole_months_between(start, end) == months


def test_shift_months_clamps_to_month_end_and_stops_at_year_9999():
    assert shift_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert shift_months(date(2026, 11, 21), 9) == date(2027, 8, 21)
    assert shift_months(date(2026, 11, 21), 12 * 8000) is None


def test_no_target_date_has_no_required_monthly_and_no_on_track():
    result = figures(saved="250.00", recent="300.00")
    assert result.saved_amount == Decimal("250.00")
    assert result.remaining == Decimal("750.00")
    assert result.percent == Decimal("25.00")
    assert result.required_monthly is None
    assert result.on_track is None
    # 750 at 100 a month: 7.5 → 8 whole months from 2026-11-21.
    assert result.projected_completion == date(2027, 7, 21)


@pytest.mark.parametrize(
    ("target_date", "required"),
    [
        (date(2027, 2, 21), Decimal("300.00")),  # exactly 3 whole months
        (date(2027, 2, 20), Decimal("450.00")),  # one day short: 2 months
        (date(2026, 12, 21), Decimal("900.00")),  # exactly one month
        (date(2026, 12, 20), Decimal("900.00")),  # less than a month: all of it
        (date(2026, 11, 21), Decimal("900.00")),  # today
        (date(2026, 1, 1), Decimal("900.00")),  # past
    ],
)
def test_required_monthly_at_month_boundaries(target_date, required):
    result = figures(saved="100.00", target_date=target_date)
    assert result.remaining == Decimal("900.00")
    assert result.required_monthly == required


def test_required_monthly_rounds_up_to_the_minor_unit():
    assert figures(saved="900.00", target_date=date(2027, 2, 21)).required_monthly == Decimal(
        "33.34"
    )
    jpy = figures(target="1000", target_date=date(2027, 2, 21), currency="JPY")
    assert jpy.required_monthly == Decimal("334")


def test_percent_passes_100_and_remaining_stops_at_zero():
    result = figures(saved="1500.00", target_date=date(2027, 2, 21))
    assert result.percent == Decimal("150.00")
    assert result.remaining == Decimal("0")
    assert result.required_monthly == Decimal("0")
    assert result.projected_completion == TODAY
    assert result.on_track is True


def test_percent_has_two_decimals():
    assert figures(target="3.00", saved="1.00").percent == Decimal("33.33")
    assert figures(target="3.00", saved="2.00").percent == Decimal("66.67")


@pytest.mark.parametrize(
    ("remaining_saved", "target_date", "projected", "on_track"),
    [
        # saved 100 → remaining 900; recent 300 → 100 a month → 9 months.
        ("100.00", date(2027, 8, 21), date(2027, 8, 21), True),
        ("100.00", date(2027, 8, 20), date(2027, 8, 21), False),
        # remaining 901 → 9.01 months → 10.
        ("99.00", date(2027, 9, 21), date(2027, 9, 21), True),
    ],
)
def test_projected_completion_extrapolates_the_3_month_average(
    remaining_saved, target_date, projected, on_track
):
    result = figures(saved=remaining_saved, recent="300.00", target_date=target_date)
    assert result.projected_completion == projected
    assert result.on_track is on_track


@pytest.mark.parametrize("recent", ["0", "-50.00"])
def test_no_projection_when_average_is_not_positive(recent):
    result = figures(saved="100.00", recent=recent, target_date=date(2030, 1, 1))
    assert result.projected_completion is None
    assert result.on_track is False


def test_recent_window_is_three_budget_months_up_to_today():
    calendar_user = UserFactory.build(month_start_day=1)
    assert recent_window(user=calendar_user, today=TODAY) == (date(2026, 9, 1), TODAY)
    payday_user = UserFactory.build(month_start_day=25)
    # 2026-11-21 is in budget month 2026-10 (Oct 25 – Nov 24); two before it starts Aug 25.
    assert recent_window(user=payday_user, today=TODAY) == (date(2026, 8, 25), TODAY)
    assert recent_window(user=payday_user, today=date(2026, 11, 25)) == (
        date(2026, 9, 25),
        date(2026, 11, 25),
    )


@pytest.mark.django_db
def test_totals_are_summed_in_the_database_per_budget_month():
    user = UserFactory(month_start_day=25)
    goal = GoalFactory(user=user)
    ContributionFactory(goal=goal, amount=Decimal("1000.00"), date=date(2026, 8, 24))
    ContributionFactory(goal=goal, amount=Decimal("200.00"), date=date(2026, 8, 25))
    ContributionFactory(goal=goal, amount=Decimal("-50.00"), date=date(2026, 11, 21))
    ContributionFactory(goal=goal, amount=Decimal("400.00"), date=date(2026, 11, 22))  # future
    empty = GoalFactory(user=user)

    rows = {g.pk: g for g in goals_with_totals(user=user, today=TODAY)}
    assert rows[goal.pk].saved_total == Decimal("1550.00")
    assert rows[goal.pk].recent_total == Decimal("150.00")
    assert rows[empty.pk].saved_total == 0
    assert rows[empty.pk].recent_total == 0
