"""Charts (SPEC §10): GET /reports/charts/<name>.<png|svg> draws the report it names."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

import pytest

from budgets.models import Budget
from categories.tests.factories import CategoryFactory
from expenses.tests.factories import ExpenseFactory
from income.tests.factories import IncomeFactory
from reports import charts, services

pytestmark = pytest.mark.django_db

BASE = "/api/v1/reports/charts/"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG_ROOT = "{http://www.w3.org/2000/svg}svg"

# Each chart with parameters that select the seeded data, and with ones that select nothing.
WITH_DATA = {
    "category-breakdown": "start=2026-03-01&end=2026-03-31",
    "monthly": "year=2026",
    "timeseries": "start=2026-03-01&end=2026-03-31&bucket=day&kind=expense",
    "budget-status": "month=2026-03",
}
EMPTY = {
    "category-breakdown": (
        "start=2025-01-01&end=2025-01-31",
        "No expenses between 2025-01-01 and 2025-01-31",
    ),
    "monthly": ("year=2020", "No income or expenses in 2020"),
    "timeseries": (
        "start=2025-01-01&end=2025-01-31&kind=income",
        "No income between 2025-01-01 and 2025-01-31",
    ),
    "budget-status": ("month=2020-01", "No budgets for 2020-01"),
}
CONTENT_TYPES = {"png": "image/png", "svg": "image/svg+xml"}


def url(name: str, fmt: str, query: str = "") -> str:
    return f"{BASE}{name}.{fmt}" + (f"?{query}" if query else "")


def png_size(body: bytes) -> tuple[int, int]:
    assert body.startswith(PNG_SIGNATURE)
    length, chunk = struct.unpack(">I4s", body[8:16])
    assert chunk == b"IHDR" and length == 13
    return struct.unpack(">II", body[16:24])


def svg_root(body: bytes) -> ET.Element:
    return ET.fromstring(body)


def assert_image(response, fmt: str) -> bytes:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == CONTENT_TYPES[fmt]
    body = response.content
    if fmt == "png":
        width, height = png_size(body)
        assert width > 0 and height > 0
    else:
        assert svg_root(body).tag == SVG_ROOT
    return body


@pytest.fixture
def seeded(user):
    groceries = CategoryFactory(user=user, name="Groceries")
    rent = CategoryFactory(user=user, name="Rent")
    ExpenseFactory(user=user, category=groceries, amount=Decimal("42.50"), date=date(2026, 3, 2))
    ExpenseFactory(user=user, category=rent, amount=Decimal("900.00"), date=date(2026, 3, 5))
    ExpenseFactory(user=user, amount=Decimal("12.00"), date=date(2026, 3, 20))
    IncomeFactory(user=user, amount=Decimal("2500.00"), date=date(2026, 3, 1))
    Budget.objects.create(user=user, month=date(2026, 3, 1), scope="overall", amount=1000)
    Budget.objects.create(
        user=user, month=date(2026, 3, 1), scope="category", category=groceries, amount=40
    )
    return user


# --- images ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["png", "svg"])
@pytest.mark.parametrize("name", list(WITH_DATA))
def test_every_chart_renders_a_valid_image_with_data(seeded, auth_client, name, fmt):
    response = auth_client.get(url(name, fmt, WITH_DATA[name]))
    assert_image(response, fmt)
    assert response["Cache-Control"] == "private, max-age=60"
    assert response["Content-Disposition"] == f'inline; filename="{name}.{fmt}"'


@pytest.mark.parametrize("fmt", ["png", "svg"])
@pytest.mark.parametrize("name", list(EMPTY))
def test_an_empty_range_is_a_valid_image_that_says_so(seeded, auth_client, name, fmt):
    query, message = EMPTY[name]
    body = assert_image(auth_client.get(url(name, fmt, query)), fmt)
    if fmt == "svg":
        assert message.encode() in body


def test_the_svg_shows_the_users_figures(seeded, auth_client):
    body = auth_client.get(url("category-breakdown", "svg", WITH_DATA["category-breakdown"]))
    text = body.content.decode()
    assert "Rent" in text and "Groceries" in text and "Uncategorized" in text
    assert "900.00" in text and "USD" in text


def test_budget_status_names_budgets_and_levels(seeded, auth_client):
    text = auth_client.get(url("budget-status", "svg", "month=2026-03")).content.decode()
    assert "Overall" in text and "Groceries" in text
    assert "42.50 of 40.00" in text and "2.50 over" in text


def test_parameters_default_like_the_reports(seeded, auth_client):
    for name in WITH_DATA:
        assert_image(auth_client.get(url(name, "png")), "png")


def test_accept_header_for_an_image_is_not_refused(seeded, auth_client):
    query = WITH_DATA["monthly"]
    assert_image(auth_client.get(url("monthly", "png", query), HTTP_ACCEPT="image/png"), "png")
    assert_image(auth_client.get(url("monthly", "svg", query), HTTP_ACCEPT="image/svg+xml"), "svg")
    assert_image(
        auth_client.get(url("monthly", "png", query), HTTP_ACCEPT="application/json"), "png"
    )


def test_format_query_parameter_is_ignored(seeded, auth_client):
    assert_image(auth_client.get(url("monthly", "svg", "year=2026&format=json")), "svg")


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "query", "field"),
    [
        ("category-breakdown", "start=2026-13-01&end=2026-03-31", "start"),
        ("category-breakdown", "start=2026-03-01", "end"),
        ("category-breakdown", "start=2026-03-31&end=2026-03-01", "end"),
        ("category-breakdown", "period=fortnight", "period"),
        ("category-breakdown", "period=this_month&start=2026-03-01&end=2026-03-31", "period"),
        ("monthly", "year=abc", "year"),
        ("monthly", "year=0", "year"),
        ("timeseries", "bucket=hour", "bucket"),
        ("timeseries", "kind=profit", "kind"),
        ("timeseries", "start=nope&end=2026-03-01", "start"),
        ("budget-status", "month=2026-13", "month"),
        ("budget-status", "month=March", "month"),
    ],
)
@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_bad_parameters_are_a_400_naming_the_parameter(auth_client, name, query, field, fmt):
    response = auth_client.get(url(name, fmt, query))
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert field in response.json()


def test_bad_parameters_are_json_even_when_an_image_is_accepted(auth_client):
    response = auth_client.get(url("monthly", "png", "year=abc"), HTTP_ACCEPT="image/png")
    assert response.status_code == 400
    assert "year" in response.json()


def test_too_many_timeseries_points_is_a_400_like_the_report(auth_client):
    query = "start=2000-01-01&end=2026-01-01&bucket=day"
    chart = auth_client.get(url("timeseries", "png", query))
    report = auth_client.get(f"/api/v1/reports/timeseries/?{query}")
    assert chart.status_code == report.status_code == 400
    assert chart.json() == report.json()
    assert "bucket" in chart.json()


@pytest.mark.parametrize(
    "path",
    [
        "pie.png",
        "monthly.gif",
        "monthly.pdf",
        "monthly.PNG",
        "monthly",
        "monthly.png/",
        "Monthly.png",
    ],
)
def test_unknown_chart_or_format_is_a_json_404(auth_client, path):
    response = auth_client.get(BASE + path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"


def test_unknown_chart_names_the_choices(auth_client):
    detail = auth_client.get(url("pie", "png")).json()["detail"]
    assert "category-breakdown" in detail and "budget-status" in detail


def test_anonymous_is_a_json_401(api_client):
    response = api_client.get(url("monthly", "png", "year=2026"), HTTP_ACCEPT="image/png")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


# --- ownership -------------------------------------------------------------------------------


def test_another_users_data_never_appears(user, other_user, client_for):
    secret = CategoryFactory(user=user, name="SecretA")
    ExpenseFactory(user=user, category=secret, amount=Decimal("77.00"), date=date(2026, 3, 3))
    Budget.objects.create(
        user=user, month=date(2026, 3, 1), scope="category", category=secret, amount=50
    )
    ExpenseFactory(user=other_user, amount=Decimal("5.00"), date=date(2026, 3, 3))
    query = WITH_DATA["category-breakdown"]

    mine = client_for(user).get(url("category-breakdown", "svg", query)).content
    theirs = client_for(other_user).get(url("category-breakdown", "svg", query)).content
    assert b"SecretA" in mine
    assert b"SecretA" not in theirs

    their_budgets = client_for(other_user).get(url("budget-status", "svg", "month=2026-03"))
    assert b"SecretA" not in their_budgets.content
    assert b"No budgets for 2026-03" in their_budgets.content


# --- rendering functions ---------------------------------------------------------------------


def test_category_breakdown_draws_the_top_eight_and_other(user):
    for i in range(12):
        category = CategoryFactory(user=user, name=f"Cat{i:02d}")
        ExpenseFactory(user=user, category=category, amount=Decimal(100 - i), date=date(2026, 3, 4))
    data = services.summary(book=user.personal_book, start=date(2026, 3, 1), end=date(2026, 3, 31))
    text = charts.render_category_breakdown(data, "svg").decode()
    assert "Cat07" in text and "Cat08" not in text
    assert "Other (4 categories)" in text


def test_user_text_is_drawn_literally(user):
    odd = CategoryFactory(user=user, name="Rent $ and $ more <b> & --")
    ExpenseFactory(user=user, category=odd, amount=Decimal("10.00"), date=date(2026, 3, 4))
    data = services.summary(book=user.personal_book, start=date(2026, 3, 1), end=date(2026, 3, 31))
    body = charts.render_category_breakdown(data, "svg")
    assert svg_root(body).tag == SVG_ROOT
    png_size(charts.render_category_breakdown(data, "png"))


def test_a_long_timeseries_is_drawn_as_a_line(user):
    ExpenseFactory(user=user, amount=Decimal("10.00"), date=date(2025, 6, 1))
    IncomeFactory(user=user, amount=Decimal("20.00"), date=date(2025, 7, 1))
    data = services.timeseries(
        book=user.personal_book,
        start=date(2025, 1, 1),
        end=date(2025, 12, 31),
        bucket="day",
        kind="net",
    )
    assert len(data["points"]) > charts.MAX_BARS
    for fmt in ("png", "svg"):
        body = charts.render_timeseries(data, fmt)
        assert body.startswith(PNG_SIGNATURE) if fmt == "png" else svg_root(body).tag == SVG_ROOT


def test_unknown_format_is_refused_by_the_renderer(user):
    data = services.monthly(book=user.personal_book, year=2026)
    with pytest.raises(ValueError, match="format"):
        charts.render_monthly(data, "gif")


def test_equal_data_gives_equal_svg_bytes(seeded, auth_client):
    first = auth_client.get(url("budget-status", "svg", "month=2026-03")).content
    second = auth_client.get(url("budget-status", "svg", "month=2026-03")).content
    assert first == second


@pytest.mark.parametrize(
    ("name", "query", "start_day"),
    [
        ("monthly", "year=1", 1),
        ("timeseries", "start=9999-12-01&end=9999-12-31&bucket=week", 1),
        ("timeseries", "start=9999-12-01&end=9999-12-31&bucket=day&kind=net", 1),
        ("timeseries", "start=0001-01-01&end=0001-03-31&bucket=week", 1),
        ("category-breakdown", "start=0001-01-01&end=0001-12-31", 25),
        ("category-breakdown", "start=9999-12-01&end=9999-12-31", 1),
        ("budget-status", "month=0001-01", 1),
    ],
)
def test_calendar_limits_draw_or_answer_400(client_for, user, name, query, start_day):
    """The first and last representable days draw (or are refused with a 400 naming a
    parameter, as the reports are), never a server error."""
    user.month_start_day = start_day
    user.save(update_fields=["month_start_day"])
    ExpenseFactory(user=user, amount=Decimal("1.00"), date=date(9999, 12, 31))
    client = client_for(user)
    client.raise_request_exception = False
    for fmt in ("png", "svg"):
        response = client.get(url(name, fmt, query))
        assert response.status_code in (200, 400), response.content[:300]
        if response.status_code == 200:
            assert_image(response, fmt)
        else:
            assert set(response.json()) & {"start", "end", "year", "month", "bucket"}


@pytest.mark.parametrize(
    "path",
    [
        "monthly.png?year=2199",
        "budget-status.png?month=2199-12",
        "timeseries.png?start=2199-01-01&end=2199-12-31&bucket=month",
    ],
)
def test_the_last_budget_month_draws(auth_client, path):
    auth_client.raise_request_exception = False
    response = auth_client.get(BASE + path)
    assert response.status_code == 200, response.content[:300]
    assert_image(response, "png")


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("monthly.png?year=9999", "year"),
        ("budget-status.png?month=9999-12", "month"),
        ("timeseries.png?start=9999-01-01&end=9999-12-31&bucket=month", "start"),
    ],
)
def test_a_chart_past_the_supported_range_is_a_400_naming_the_parameter(auth_client, path, param):
    auth_client.raise_request_exception = False
    response = auth_client.get(BASE + path)
    assert response.status_code == 400, response.content[:300]
    assert param in response.json()
