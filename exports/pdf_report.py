"""The printable monthly report (SPEC §11): GET /export/report.pdf?month=YYYY-MM.

A report is of one book (SPEC §14), named on the page: its records, base currency,
budget months, budgets and goals.

Every figure comes from the services the JSON reports use — `reports.services.
month_summary`, `budgets.selectors.budget_status`, `goals.selectors` — and the charts
are the ones `/reports/charts/` draws, so the PDF never disagrees with the API.
Laid out with reportlab's platypus in DejaVu Sans (shipped with matplotlib), which
covers Latin, Greek and Cyrillic names that the PDF base fonts cannot show.
"""

from __future__ import annotations

import calendar
from datetime import datetime
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import matplotlib
from django.db.models import F
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from books.models import Book
from budgets.models import Scope
from budgets.selectors import budget_status
from core.dates import format_month
from core.money import format_amount
from goals.models import GoalStatus
from goals.selectors import goal_figures, goals_with_totals
from reports import charts
from reports.services import month_summary

FONT, BOLD_FONT = "DejaVuSans", "DejaVuSans-Bold"
INK = colors.HexColor("#222222")
MUTED = colors.HexColor("#666666")
RULE = colors.HexColor("#BBBBBB")
HEADER_FILL = colors.HexColor("#F1F3F5")
STATUS_LABELS = {"ok": "OK", "warn": "Warning", "exceeded": "Exceeded"}
STATUS_COLOURS = {key: colors.HexColor(value) for key, value in charts.STATUS_COLOURS.items()}


@cache
def _fonts() -> tuple[str, str]:
    """Registers DejaVu Sans with reportlab once per process."""
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont(FONT, str(folder / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD_FONT, str(folder / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD_FONT)
    return FONT, BOLD_FONT


@cache
def _styles() -> dict[str, ParagraphStyle]:
    regular, bold = _fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=9.5, leading=12.5, textColor=INK)
    return {
        "title": ParagraphStyle("title", parent=body, fontName=bold, fontSize=20, leading=24),
        "subtitle": ParagraphStyle(
            "subtitle", parent=body, textColor=MUTED, fontSize=10, spaceAfter=6 * mm
        ),
        "heading": ParagraphStyle(
            "heading",
            parent=body,
            fontName=bold,
            fontSize=13,
            leading=16,
            spaceBefore=6 * mm,
            spaceAfter=2.5 * mm,
        ),
        "body": body,
        "note": ParagraphStyle("note", parent=body, textColor=MUTED, fontSize=8.5, leading=11),
        "cell": ParagraphStyle("cell", parent=body, fontSize=9, leading=11),
        "number": ParagraphStyle("number", parent=body, fontSize=9, leading=11, alignment=TA_RIGHT),
    }


def money(value: Decimal | None, currency: str) -> str:
    """`1234.5` → `1,234.50`: the currency's minor units with thousands separators."""
    if value is None:
        return "—"
    return format(Decimal(format_amount(value, currency)), ",f")


def _percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{value}%"


def _text(value: Any, style: str = "cell") -> Paragraph:
    """User text as a table cell: escaped (platypus reads markup) and wrapped."""
    return Paragraph(escape(str(value)), _styles()[style])


def _table(header: list[str], rows: list[list[Any]], widths: list[float]) -> Table:
    """A ruled table with a shaded header; columns after the first are right-aligned."""
    regular, bold = _fonts()
    table = Table([header, *rows], colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), regular, 9),
                ("FONT", (0, 0), (-1, 0), bold, 9),
                ("TEXTCOLOR", (0, 0), (-1, -1), INK),
                ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, RULE),
                ("LINEBELOW", (0, 1), (-1, -1), 0.3, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _chart(png: bytes, width: float) -> Image:
    pixels_wide, pixels_high = ImageReader(BytesIO(png)).getSize()
    return Image(BytesIO(png), width=width, height=width * pixels_high / pixels_wide)


def _summary_section(data: dict[str, Any], width: float) -> list[Any]:
    currency = data["currency"]
    rows = [
        ["Income", money(data["total_income"], currency)],
        ["Expenses", money(data["total_expenses"], currency)],
        ["Net (income − expenses)", money(data["net"], currency)],
        ["Savings rate", _percent(data["savings_rate"])],
        ["Average daily spending", money(data["average_daily_expense"], currency)],
        ["Expense records", f"{data['expense_count']:,}"],
        ["Income records", f"{data['income_count']:,}"],
    ]
    if data["budget_total"] is not None:
        rows += [
            ["Budgeted", money(data["budget_total"], currency)],
            ["Budget remaining", money(data["budget_remaining"], currency)],
        ]
    return [
        Paragraph("Summary", _styles()["heading"]),
        _table(["", currency], rows, [width * 0.45, width * 0.25]),
    ]


def _category_section(data: dict[str, Any], width: float) -> list[Any]:
    currency = data["currency"]
    heading = Paragraph("Spending by category", _styles()["heading"])
    if not data["by_category"]:
        return [heading, Paragraph("No expenses in this month.", _styles()["body"])]
    rows = [
        [
            _text(row["category_name"]),
            money(row["total"], currency),
            f"{row['percent']}%",
            f"{row['count']:,}",
        ]
        for row in data["by_category"]
    ]
    parts: list[Any] = [
        heading,
        _table(
            ["Category", f"Total ({currency})", "Share", "Records"],
            rows,
            [width * 0.46, width * 0.22, width * 0.14, width * 0.18],
        ),
        Spacer(1, 4 * mm),
        _chart(charts.render_category_breakdown(data, "png"), width),
    ]
    if data["top_merchants"]:
        merchants = [
            [_text(row["merchant"]), money(row["total"], currency), f"{row['count']:,}"]
            for row in data["top_merchants"]
        ]
        parts += [
            Paragraph("Top merchants", _styles()["heading"]),
            _table(
                ["Merchant", f"Total ({currency})", "Records"],
                merchants,
                [width * 0.52, width * 0.26, width * 0.22],
            ),
        ]
    return parts


def _budget_section(status: dict[str, Any], width: float) -> list[Any]:
    currency = status["currency"]
    heading = Paragraph("Budget status", _styles()["heading"])
    lines = ([status["overall"]] if status["overall"] is not None else []) + status["items"]
    if not lines:
        return [heading, Paragraph("No budgets for this month.", _styles()["body"])]
    rows = []
    for line in lines:
        name = "Overall" if line.budget.scope == Scope.OVERALL else line.budget.category.name
        rows.append(
            [
                _text(name),
                money(line.available, currency),
                money(line.spent, currency),
                money(line.remaining, currency),
                f"{line.percent_used}%",
                STATUS_LABELS.get(line.status, line.status),
            ]
        )
    table = _table(
        ["Budget", "Available", "Spent", "Remaining", "Used", "Status"],
        rows,
        [width * 0.25, width * 0.16, width * 0.16, width * 0.16, width * 0.12, width * 0.15],
    )
    table.setStyle(
        TableStyle(
            [
                ("TEXTCOLOR", (5, i), (5, i), STATUS_COLOURS.get(line.status, INK))
                for i, line in enumerate(lines, 1)
            ]
        )
    )
    note = (
        f"Available includes any amount rolled over from the month before. Spending "
        f"outside every budgeted category: {money(status['unbudgeted_spent'], currency)} "
        f"{currency}."
    )
    return [
        heading,
        table,
        Paragraph(escape(note), _styles()["note"]),
        Spacer(1, 4 * mm),
        _chart(charts.render_budget_status(status, "png"), width),
    ]


def _goals_section(book: Book, today: Any, width: float) -> list[Any]:
    currency = book.base_currency
    heading = Paragraph(f"Savings goals (as of {today})", _styles()["heading"])
    goals = list(
        goals_with_totals(book=book, today=today)
        .exclude(status=GoalStatus.ARCHIVED)
        .order_by(F("target_date").asc(nulls_last=True), "name", "id")
    )
    if not goals:
        return [heading, Paragraph("No savings goals.", _styles()["body"])]
    rows = []
    for goal in goals:
        figures = goal_figures(goal=goal, today=today, currency=currency)
        on_track = {True: "yes", False: "no", None: "—"}[figures.on_track]
        rows.append(
            [
                _text(goal.name),
                money(goal.target_amount, currency),
                money(figures.saved_amount, currency),
                f"{figures.percent}%",
                str(goal.target_date or "—"),
                money(figures.required_monthly, currency),
                on_track,
            ]
        )
    return [
        heading,
        _table(
            ["Goal", "Target", "Saved", "Progress", "Due", "Per month", "On track"],
            rows,
            [
                width * 0.24,
                width * 0.14,
                width * 0.14,
                width * 0.11,
                width * 0.12,
                width * 0.14,
                width * 0.11,
            ],
        ),
        Paragraph(
            "Per month: what to put aside each month to reach the target by its due date. "
            "On track: the last three months' pace reaches the target in time.",
            _styles()["note"],
        ),
    ]


def build_report(*, book: Book, user: Any, year: int, month: int, now: datetime) -> bytes:
    """The PDF of the book's budget month (year, month), as read by `user` (named on it);
    `now` is in the reader's time zone."""
    status = budget_status(book=book, year=year, month=month)
    lines = ([status["overall"]] if status["overall"] is not None else []) + status["items"]
    data = month_summary(book=book, year=year, month=month, lines=lines)
    label = format_month(year, month)
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=f"Budget report {label}",
        author="Budget Tracker",
        subject=f"Monthly report {label} of {book.name} for {user.get_username()}",
        creator="Budget Tracker",
    )
    width = document.width
    styles = _styles()
    who = user.get_full_name() or user.get_username()
    story: list[Any] = [
        Paragraph(
            escape(f"Monthly report {label} · {calendar.month_name[month]} {year}"),
            styles["title"],
        ),
        Paragraph(
            escape(
                f"{book.name} · {who} · {data['start']} to {data['end']} · "
                f"amounts in {data['currency']} · "
                f"generated {now:%Y-%m-%d %H:%M %Z}"
            ),
            styles["subtitle"],
        ),
        KeepTogether(_summary_section(data, width)),
        *_category_section(data, width),
        *_budget_section(status, width),
        *_goals_section(book, now.date(), width),
    ]

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(_fonts()[0], 8)
        canvas.setFillColor(MUTED)
        canvas.drawString(
            doc.leftMargin, 10 * mm, f"Budget Tracker · {book.name} · monthly report {label}"
        )
        canvas.drawRightString(
            doc.leftMargin + doc.width, 10 * mm, f"page {canvas.getPageNumber()}"
        )
        canvas.restoreState()

    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
