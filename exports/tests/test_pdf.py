"""The monthly PDF report (SPEC §11): summary, categories with a chart, budgets, goals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from pypdf import PdfReader

from budgets.models import Budget
from categories.tests.factories import CategoryFactory
from core.dates import user_today
from expenses.tests.factories import ExpenseFactory
from exports.pdf_report import money
from goals.tests.factories import ContributionFactory, GoalFactory
from income.tests.factories import IncomeFactory
from reports.services import current_budget_month

pytestmark = pytest.mark.django_db

URL = "/api/v1/export/report.pdf"


def pdf_text(response) -> str:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    reader = PdfReader(BytesIO(response.content))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.fixture
def march(user, ledger):
    """The ledger's March, plus a second category, budgets and goals."""
    books = CategoryFactory(user=user, name="Bücher & Zeitschriften")
    ExpenseFactory(user=user, date=date(2026, 3, 12), amount=Decimal("1234.56"), category=books)
    food = ledger["food"]
    Budget.objects.create(user=user, month=date(2026, 3, 1), scope="overall", amount=3000)
    Budget.objects.create(
        user=user, month=date(2026, 3, 1), scope="category", category=food, amount=20
    )
    house = GoalFactory(user=user, name="House deposit", target_amount=Decimal("50000"))
    ContributionFactory(goal=house, amount=Decimal("1250"), date=date(2026, 3, 2))
    GoalFactory(user=user, name="Old dream", status="archived")
    return {"books": books}


def test_report_has_every_section_with_the_months_figures(auth_client, user, march):
    response = auth_client.get(URL, {"month": "2026-03"}, HTTP_ACCEPT="application/pdf")

    assert response["Content-Disposition"] == 'attachment; filename="report-2026-03.pdf"'
    text = pdf_text(response)
    # March: 900 + 12.50 + 4.75 + 10.01 + 1,234.56 spent, 3,000 earned.
    for figure in ("2,161.82", "3,000.00", "838.18", "27.94%", "69.74"):
        assert figure in text, figure
    assert money(Decimal("2161.82"), "USD") == "2,161.82"
    assert "Monthly report 2026-03" in text and "March 2026" in text
    assert user.username in text
    for heading in ("Summary", "Spending by category", "Budget status", "Savings goals"):
        assert heading in text
    for name in ("Bücher & Zeitschriften", "Rent", "Food", "Coffee", "Corner Bistro"):
        assert name in text, name
    assert "Overall" in text and "Exceeded" in text  # Food: 22.51 + 4.75 of 20
    assert "House deposit" in text and "1,250.00" in text and "2.50%" in text
    assert "Old dream" not in text  # archived
    assert "April groceries" not in text and "55.00" not in text


def test_charts_are_embedded(auth_client, march):
    response = auth_client.get(URL, {"month": "2026-03"})

    reader = PdfReader(BytesIO(response.content))
    images = [image for page in reader.pages for image in page.images]
    assert len(images) == 2  # category breakdown and budget status


def test_empty_month_still_renders(auth_client, user):
    text = pdf_text(auth_client.get(URL, {"month": "2020-01"}))

    assert "Monthly report 2020-01" in text
    assert "No expenses in this month." in text
    assert "No budgets for this month." in text
    assert "No savings goals." in text


def test_default_month_is_the_current_budget_month(auth_client, user):
    year, month = current_budget_month(book=user.personal_book, today=user_today(user))

    response = auth_client.get(URL)

    label = f"{year:04d}-{month:02d}"
    assert response["Content-Disposition"] == f'attachment; filename="report-{label}.pdf"'
    assert f"Monthly report {label}" in pdf_text(response)


def test_markup_in_names_is_printed_literally(auth_client, user):
    CategoryFactory(user=user, name="<b>Fun</b> & games")
    ExpenseFactory(
        user=user,
        date=date(2026, 3, 3),
        category=CategoryFactory(user=user, name="<i>Tea</i> & <cake"),
    )

    assert "<i>Tea</i> & <cake" in pdf_text(auth_client.get(URL, {"month": "2026-03"}))


@pytest.mark.parametrize("month", ["2026-13", "March", "2026-02-30"])
def test_bad_month_is_a_json_400(auth_client, month):
    response = auth_client.get(URL, {"month": month}, HTTP_ACCEPT="application/pdf")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "month" in response.json()


def test_other_users_data_never_appears(auth_client, other_user, march):
    theirs = CategoryFactory(user=other_user, name="Secret hobby")
    ExpenseFactory(user=other_user, date=date(2026, 3, 4), amount=Decimal("777"), category=theirs)
    IncomeFactory(user=other_user, date=date(2026, 3, 4), amount=Decimal("8888"))
    GoalFactory(user=other_user, name="Their yacht")

    text = pdf_text(auth_client.get(URL, {"month": "2026-03"}))

    assert "Secret hobby" not in text and "Their yacht" not in text
    assert "2,161.82" in text and "3,000.00" in text


def test_unauthenticated_is_a_401(api_client):
    response = api_client.get(URL, {"month": "2026-03"})

    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
