"""Budgets, goals and recurring bills in a real browser (SPEC §8, §9, §12, §18): set a
budget, spend past it and see it exceeded with the alert in the bell; copy a month with its
rollover; save toward a goal until it is achieved; add, pause and list recurring bills;
axe-core on each page and its dialog, desktop and phone, light and dark."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from budgets.models import Budget
from goals.models import Contribution, Goal
from imports.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERNAME
from notifications.models import Notification
from recurring.models import RecurringItem
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def next_month(month: str) -> str:
    year, mon = map(int, month.split("-"))
    return f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"


def test_set_a_budget_exceed_it_and_see_the_alert_then_copy_with_rollover(open_tab):
    user = UserFactory(username="planner", base_currency="EUR")
    tab = open_tab()
    tab.sign_in("planner", DEFAULT_PASSWORD)
    page = tab.page
    page.get_by_role("link", name="Budgets", exact=True).click()
    tab.heading("Budgets")
    month = page.get_by_label("Budget month").input_value()
    assert re.fullmatch(r"\d{4}-\d{2}", month)
    page.get_by_text(re.compile("^No budgets for ")).wait_for()

    # A category budget, with a warning level the API's rule refuses at first.
    page.get_by_role("button", name="Set a budget").first.click()
    dialog = page.get_by_role("dialog", name="Set a budget")
    dialog.get_by_label("Category").select_option(label="Food")
    dialog.get_by_label("Amount").fill("100")
    dialog.get_by_label("Warn at (% used)").fill("150")
    dialog.get_by_role("button", name="Save budget").click()
    error = dialog.locator("[data-field=warn_threshold] .field-error")
    error.wait_for()
    assert "at most 100" in error.inner_text()
    dialog.get_by_label("Warn at (% used)").fill("90")
    dialog.get_by_role("button", name="Save budget").click()
    dialog.wait_for(state="detached")
    food = page.locator("[data-budget]", has=page.get_by_role("heading", name="Food"))
    food.get_by_text("€0.00 spent of €100.00").wait_for()
    assert food.get_attribute("data-status") == "ok"
    assert "On track" in food.inner_text()

    # An overall budget that rolls its unused money over.
    page.get_by_role("button", name="Set a budget").click()
    dialog = page.get_by_role("dialog", name="Set a budget")
    dialog.get_by_label("Budget for").select_option(label="All spending (overall)")
    assert not dialog.get_by_label("Category").is_visible()
    dialog.get_by_label("Amount").fill("500")
    dialog.get_by_label("Roll unused money over to the next month").check()
    dialog.get_by_role("button", name="Save budget").click()
    dialog.wait_for(state="detached")
    overall = page.locator("[data-budget]", has=page.get_by_role("heading", name="Overall"))
    overall.wait_for()
    stored = {
        (b.scope, b.amount, b.rollover, b.warn_threshold) for b in Budget.objects.filter(user=user)
    }
    assert stored == {
        ("category", Decimal("100.00"), False, Decimal("0.900")),
        ("overall", Decimal("500.00"), True, Decimal("0.800")),
    }

    # Spend past the Food budget from this page: it turns exceeded, the bell shows the alert.
    page.get_by_role("button", name="Add expense").click()
    dialog = page.get_by_role("dialog", name="Add a transaction")
    dialog.get_by_label("Amount").fill("120")
    dialog.get_by_label("Description").fill("Big grocery run")
    dialog.get_by_label("Category").select_option(label="Food")
    dialog.get_by_role("button", name="Save").click()
    dialog.wait_for(state="detached")
    food.get_by_text("€120.00 spent of €100.00 (120 %)").wait_for()
    assert food.get_attribute("data-status") == "exceeded"
    assert "Over budget" in food.inner_text() and "€20.00 over budget" in food.inner_text()
    assert "€380.00 left" in overall.inner_text()
    page.get_by_text("1 on track · 0 nearly used · 1 over budget").wait_for()
    bell = page.get_by_role("button", name=re.compile(r"^Notifications, 1 unread$"))
    bell.wait_for()
    bell.click()
    alerts = page.get_by_role("dialog", name="Notifications")
    alerts.get_by_text(f"Budget exceeded: Food ({month})").wait_for()
    assert Notification.objects.filter(user=user, kind="budget_exceeded").count() == 1
    page.keyboard.press("Escape")

    # Copy the month: next month's overall budget starts with this month's €380 left over.
    page.get_by_role("button", name="Copy budgets").click()
    dialog = page.get_by_role("dialog", name="Copy budgets")
    assert dialog.get_by_label("Copy the budgets of").input_value() == month
    assert dialog.get_by_label("To the month").input_value() == next_month(month)
    dialog.get_by_role("button", name="Copy budgets").click()
    dialog.wait_for(state="detached")
    assert page.get_by_label("Budget month").input_value() == next_month(month)
    moved = page.locator("[data-budget]", has=page.get_by_role("heading", name="Overall"))
    moved.get_by_text("€0.00 spent of €880.00").wait_for()
    assert "+€380.00" in moved.inner_text()
    assert Budget.objects.filter(user=user, month__month=int(next_month(month)[5:])).count() == 2

    # Delete one of the copies.
    moved.get_by_role("button", name="Delete the Overall budget").click()
    page.get_by_role("dialog", name="Delete the Overall budget?").get_by_role(
        "button", name="Delete"
    ).click()
    moved.wait_for(state="detached")
    assert Budget.objects.filter(user=user).count() == 3
    assert tab.errors == [] and tab.csp_violations() == []


def test_goal_deposits_reach_the_target_and_the_goal_is_achieved(open_tab):
    user = UserFactory(username="saver", base_currency="EUR")
    tab = open_tab("phone")
    tab.sign_in("saver", DEFAULT_PASSWORD)
    page = tab.page
    tab.goto("#/goals")
    tab.heading("Goals")
    page.get_by_text("No goals yet").wait_for()

    page.get_by_role("button", name="New goal").click()
    dialog = page.get_by_role("dialog", name="New goal")
    dialog.get_by_label("Name").fill("Bike")
    dialog.get_by_label("Target amount (EUR)").fill("300")
    target = timezone.localdate() + timedelta(days=200)
    dialog.get_by_label("Target date").fill(target.isoformat())
    dialog.get_by_role("button", name="Save goal").click()
    dialog.wait_for(state="detached")
    card = page.locator("[data-goal]", has=page.get_by_role("heading", name="Bike"))
    card.get_by_text("€0.00 saved of €300.00").wait_for()
    assert "Needed per month" in card.inner_text()

    def move(direction: str, amount: str) -> None:
        card.get_by_role("button", name="Add or withdraw money: Bike").click()
        form = page.get_by_role("dialog", name="Add or withdraw: Bike")
        form.get_by_label(direction).check()
        form.get_by_label("Amount (EUR)").fill(amount)
        form.get_by_role("button", name="Save").click()

    move("Add (deposit)", "200")
    card.get_by_text("€200.00 saved of €300.00").wait_for()
    # Never below zero: the API's message lands next to the amount.
    move("Take out (withdrawal)", "500")
    form = page.get_by_role("dialog", name="Add or withdraw: Bike")
    form.locator("[data-field=amount] .field-error").wait_for()
    form.get_by_role("button", name="Cancel").click()
    move("Add (deposit)", "100")
    card.get_by_text("€300.00 saved of €300.00 (100 %)").wait_for()
    assert card.get_attribute("data-status") == "achieved"
    assert "Achieved" in card.inner_text()
    page.get_by_text("Goal reached: Bike. Well done!").wait_for()
    goal = Goal.objects.get(user=user)
    assert goal.status == "achieved"
    assert sorted(c.amount for c in Contribution.objects.filter(goal=goal)) == [
        Decimal("100.00"),
        Decimal("200.00"),
    ]
    page.get_by_role("button", name=re.compile(r"^Notifications, 1 unread$")).wait_for()
    assert Notification.objects.filter(user=user, kind="goal_achieved").count() == 1

    # The history: deleting the last deposit takes the goal back below its target.
    card.get_by_role("button", name="History of Bike").click()
    history = page.get_by_role("dialog", name="History: Bike")
    history.get_by_role("cell", name=re.compile(r"\+€100\.00")).wait_for()
    assert history.locator("tbody tr").count() == 2
    history.locator("tr", has_text="+€100.00").get_by_role("button").click()
    history.get_by_role("cell", name=re.compile(r"\+€100\.00")).wait_for(state="detached")
    page.keyboard.press("Escape")
    history.wait_for(state="detached")
    card.get_by_text("€200.00 saved of €300.00").wait_for()
    goal.refresh_from_db()
    assert goal.status == "active"

    # Archive: it leaves the current goals and waits under "Archived".
    card.get_by_role("button", name="Archive Bike").click()
    card.wait_for(state="detached")
    page.get_by_text("No goals yet").wait_for()
    goal.refresh_from_db()
    assert goal.status == "archived"
    page.get_by_role("link", name="Archived").click()
    page.locator("[data-goal][data-status=archived]", has_text="Bike").wait_for()
    assert tab.errors == [] and tab.csp_violations() == []


def test_recurring_bill_added_listed_as_upcoming_and_paused(open_tab):
    user = UserFactory(username="payer", base_currency="EUR")
    tab = open_tab()
    tab.sign_in("payer", DEFAULT_PASSWORD)
    page = tab.page
    page.get_by_role("link", name="Bills", exact=True).click()
    tab.heading("Recurring bills and income")
    page.get_by_text("No recurring bills or income yet").wait_for()

    due = timezone.localdate() + timedelta(days=3)
    page.get_by_role("button", name="New recurring item").click()
    dialog = page.get_by_role("dialog", name="New recurring item")
    dialog.get_by_label("Description").fill("Rent")
    dialog.get_by_role("button", name="Save").click()  # no amount: the API says so
    dialog.locator("[data-field=amount] .field-error").wait_for()
    dialog.get_by_label("Amount").fill("950")
    dialog.get_by_label("Category").select_option(label="Rent")
    dialog.get_by_label("First date").fill(due.isoformat())
    dialog.get_by_label("Remind me (days before)").fill("2")
    dialog.get_by_role("button", name="Save").click()
    dialog.wait_for(state="detached")

    coming = page.get_by_role("region", name="Coming up")
    coming.get_by_text("Rent", exact=True).wait_for()
    assert "€950.00" in coming.inner_text()
    row = page.get_by_role("row", name=re.compile("^Rent"))
    assert "Every month" in row.inner_text() and "Active" in row.inner_text()
    item = RecurringItem.objects.get(user=user)
    assert (item.amount, item.currency, item.start_date, item.remind_days_before) == (
        Decimal("950.00"),
        "EUR",
        due,
        2,
    )

    page.get_by_role("button", name="Pause Rent").click()
    page.get_by_role("button", name="Resume Rent").wait_for()
    assert "Paused" in page.get_by_role("row", name=re.compile("^Rent")).inner_text()
    coming.get_by_text("Nothing due in the next 30 days").wait_for()
    item.refresh_from_db()
    assert item.active is False
    assert tab.errors == [] and tab.csp_violations() == []


PAGES = [
    # (screenshot name, route, heading, the button that opens a dialog or None)
    ("budgets", "#/budgets", "Budgets", None),
    ("budget-dialog", "#/budgets", "Budgets", "Set a budget"),
    ("goals", "#/goals", "Goals", None),
    ("goal-history", "#/goals", "Goals", "History of Trip to Japan"),
    ("recurring", "#/recurring", "Recurring bills and income", None),
    ("recurring-dialog", "#/recurring", "Recurring bills and income", "Edit Rent"),
]


def test_budget_goal_and_bill_pages_pass_axe_light_and_dark(open_tab, screenshot_dir):
    call_command("seed_demo", months=2, verbosity=0)  # budgets in all three states, goals, bills
    problems: list[str] = []
    for viewport in ("desktop", "phone"):
        tab = open_tab(viewport)
        tab.sign_in(DEMO_USERNAME, DEMO_PASSWORD)
        for dark in (False, True):
            look = f"{viewport}-{'dark' if dark else 'light'}"
            tab.page.emulate_media(color_scheme="dark" if dark else "light")
            for name, route, heading, opener in PAGES:
                tab.goto(route)
                tab.heading(heading)
                tab.settled()
                if name == "budgets":
                    statuses = tab.page.locator("[data-budget]").evaluate_all(
                        "cards => cards.map(c => c.dataset.status)"
                    )
                    assert {"ok", "warn", "exceeded"} <= set(statuses)
                if opener:
                    tab.page.get_by_role("button", name=opener).first.click()
                    tab.page.get_by_role("dialog").wait_for()
                    tab.settled()
                problems.extend(f"{look} {name}: {v}" for v in tab.axe())
                tab.shot(f"{name}-{look}")
                if opener:
                    tab.page.keyboard.press("Escape")
                    tab.page.get_by_role("dialog").wait_for(state="detached")
        problems += tab.csp_violations() + tab.errors
    assert not problems, "\n".join(problems)
    for viewport in ("desktop", "phone"):
        assert len(list(screenshot_dir.glob(f"*-{viewport}-*.png"))) >= len(PAGES) * 2
