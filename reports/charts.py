"""Server-rendered charts of the reports (SPEC §10), as PNG or SVG bytes.

`render_<name>(data, fmt)` draws exactly the dict a report service returns
(`services.summary`, `services.monthly`, `services.timeseries`,
`budgets.selectors.budget_status`): every figure comes from the database through
those services, so a chart never disagrees with its JSON report. The only
reshaping here is presentational (the categories beyond the top 8 drawn as one
"Other" bar). Figures are built with matplotlib's object API on an Agg canvas —
no pyplot, so no global figure registry and nothing to close — and are safe to
render from several threads at once.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from io import BytesIO
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MultipleLocator

from budgets.models import Scope
from budgets.selectors import EXCEEDED, OK, WARN
from core.money import format_amount

FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
DPI = 100
WIDTH = 10.0  # inches: 1000 px wide at the default DPI
TOP_CATEGORIES = 8
MAX_BARS = 92  # longer time series are drawn as a line
MAX_VALUE_LABELS = 16
MAX_LABEL_CHARS = 28
BUDGET_CAP = 150  # percent of the available budget beyond which a bar is cut short

# A colour-blind-friendly cycle (seaborn "deep") and fixed meanings for the rest.
PALETTE = (
    "#4C72B0",
    "#DD8452",
    "#55A868",
    "#C44E52",
    "#8172B3",
    "#937860",
    "#DA8BC3",
    "#CCB974",
)
OTHER = "#A0A0A0"
INCOME = "#4C9F70"
EXPENSE = "#D1603D"
NET = "#2F4B7C"
STATUS_COLOURS = {OK: "#4C9F70", WARN: "#E3A008", EXCEEDED: "#D62728"}
TRACK = "#E5E7EB"
INK = "#222222"
MUTED = "#666666"

KIND_TITLES = {
    "expense": "Expenses",
    "income": "Income",
    "net": "Net (income minus expenses)",
}
KIND_NOUNS = {"expense": "expenses", "income": "income", "net": "income or expenses"}


# --- helpers ---------------------------------------------------------------------------------


def content_type(fmt: str) -> str:
    return FORMATS[fmt]


def _plain(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    """User text as literal label text: `$` would otherwise start mathtext."""
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text.replace("$", r"\$")


def _amount(value: Decimal, currency: str) -> str:
    """`1234.5` → `1,234.50`: the currency's minor units plus thousands separators."""
    return format(Decimal(format_amount(value, currency)), ",f")


def _compact(value: float, _position: object = None) -> str:
    size = abs(value)
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= threshold:
            return f"{value / threshold:.3g}{suffix}"
    return f"{value:.3g}" if value else "0"


def _new_figure(height: float) -> Figure:
    figure = Figure(figsize=(WIDTH, height), dpi=DPI, layout="constrained", facecolor="white")
    FigureCanvasAgg(figure)
    return figure


def _titles(figure: Figure, ax: Axes, title: str, subtitle: str) -> None:
    figure.suptitle(title, x=0.005, ha="left", fontsize=14, fontweight="bold", color=INK)
    ax.set_title(subtitle, loc="left", fontsize=10, color=MUTED, pad=12)


def _tidy(ax: Axes, grid_axis: str) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.spines["left"].set_color("#BBBBBB")
    ax.spines["bottom"].set_color("#BBBBBB")
    ax.tick_params(colors=MUTED, labelcolor=INK, labelsize=9)
    ax.grid(axis=grid_axis, color="#E6E6E6", linewidth=0.8)
    ax.set_axisbelow(True)


def _save(figure: Figure, fmt: str, title: str) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"Unsupported chart format {fmt!r}.")
    # No creation date (SVG) and no version string (PNG), so equal data gives equal bytes.
    metadata: dict[str, str | None] = {"Title": title}
    if fmt == "svg":
        metadata["Date"] = None
    else:
        metadata["Software"] = None
    buffer = BytesIO()
    try:
        figure.savefig(buffer, format=fmt, metadata=metadata, facecolor="white")
    finally:
        figure.clear()
    image = buffer.getvalue()
    return _stable_svg_ids(image) if fmt == "svg" else image


_SVG_ID = re.compile(rb'\bid="([^"]*[0-9a-f]{10})"')


def _stable_svg_ids(svg: bytes) -> bytes:
    """Matplotlib salts SVG ids (clip paths, markers) randomly unless the global
    `svg.hashsalt` rcParam is set; renumber them in document order instead, so equal data
    gives equal bytes without touching global state."""
    old_ids = dict.fromkeys(match.group(1) for match in _SVG_ID.finditer(svg))
    if not old_ids:
        return svg
    new_ids = {old: old[:-10] + b"%010d" % n for n, old in enumerate(old_ids)}
    pattern = re.compile(b"|".join(re.escape(old) for old in new_ids))
    return pattern.sub(lambda match: new_ids[match.group()], svg)


def _empty(title: str, subtitle: str, message: str, fmt: str) -> bytes:
    """A valid image that says there is nothing to draw."""
    figure = _new_figure(3.0)
    ax = figure.add_subplot()
    ax.set_axis_off()
    _titles(figure, ax, title, subtitle)
    ax.text(
        0.5,
        0.5,
        _plain(message, limit=200),
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=13,
        color=MUTED,
    )
    return _save(figure, fmt, title)


def _bar_value(value: Decimal, currency: str) -> str:
    """Exact below 1,000, compact (`3.91k`) above, blank for zero bars."""
    if not value:
        return ""
    return _amount(value, currency) if abs(value) < 1000 else _compact(float(value))


def _value_labels(
    ax: Axes, container: Any, values: Sequence[Decimal], currency: str, **kwargs: Any
) -> None:
    labels = [_bar_value(value, currency) for value in values]
    ax.bar_label(container, labels=labels, **{"fontsize": 8, "color": INK, "padding": 2, **kwargs})


# --- category breakdown ----------------------------------------------------------------------


def _top_categories(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first TOP_CATEGORIES rows (the service orders them by total) and one "Other"
    row for the rest; a lone extra category keeps its own bar."""
    if len(rows) <= TOP_CATEGORIES + 1:
        return rows
    rest = rows[TOP_CATEGORIES:]
    other = {
        "category": None,
        "category_name": f"Other ({len(rest)} categories)",
        "total": sum((row["total"] for row in rest), Decimal(0)),
        "percent": sum((row["percent"] for row in rest), Decimal(0)),
        "other": True,
    }
    return [*rows[:TOP_CATEGORIES], other]


def render_category_breakdown(data: dict[str, Any], fmt: str) -> bytes:
    """Horizontal bars of spending per category (top 8 + Other) from `services.summary`."""
    currency = data["currency"]
    title = "Spending by category"
    subtitle = f"{data['start']} – {data['end']} · {currency}"
    if not data["by_category"]:
        message = f"No expenses between {data['start']} and {data['end']}"
        return _empty(title, subtitle, message, fmt)
    subtitle += f" · total spent {_amount(data['total_expenses'], currency)}"
    rows = _top_categories(data["by_category"])
    figure = _new_figure(1.6 + 0.45 * len(rows))
    ax = figure.add_subplot()
    _titles(figure, ax, title, subtitle)
    positions = range(len(rows))
    colours = [
        OTHER if row.get("other") else PALETTE[i % len(PALETTE)] for i, row in enumerate(rows)
    ]
    bars = ax.barh(positions, [float(row["total"]) for row in rows], color=colours, height=0.65)
    ax.set_yticks(positions, labels=[_plain(row["category_name"]) for row in rows])
    ax.invert_yaxis()
    ax.bar_label(
        bars,
        labels=[f"{_amount(row['total'], currency)}  ({row['percent']}%)" for row in rows],
        padding=4,
        fontsize=9,
        color=INK,
    )
    largest = max(float(row["total"]) for row in rows)
    ax.set_xlim(0, largest * 1.35 if largest else 1)
    ax.xaxis.set_major_formatter(FuncFormatter(_compact))
    ax.set_xlabel(currency, color=MUTED, fontsize=9)
    _tidy(ax, "x")
    return _save(figure, fmt, title)


# --- monthly ---------------------------------------------------------------------------------


def render_monthly(data: dict[str, Any], fmt: str) -> bytes:
    """Grouped income/expense bars per budget month with the net as a line,
    from `services.monthly`."""
    currency, totals = data["currency"], data["totals"]
    title = "Income and expenses by month"
    subtitle = f"{data['year']} · {currency}"
    if not totals["income"] and not totals["expenses"]:
        return _empty(title, subtitle, f"No income or expenses in {data['year']}", fmt)
    subtitle += (
        f" · income {_amount(totals['income'], currency)}"
        f" · expenses {_amount(totals['expenses'], currency)}"
        f" · net {_amount(totals['net'], currency)}"
    )
    months = data["months"]
    figure = _new_figure(5.2)
    ax = figure.add_subplot()
    _titles(figure, ax, title, subtitle)
    positions = list(range(len(months)))
    width = 0.38
    income = ax.bar(
        [x - width / 2 for x in positions],
        [float(m["income"]) for m in months],
        width,
        color=INCOME,
        label="Income",
    )
    expenses = ax.bar(
        [x + width / 2 for x in positions],
        [float(m["expenses"]) for m in months],
        width,
        color=EXPENSE,
        label="Expenses",
    )
    _value_labels(ax, income, [m["income"] for m in months], currency, fontsize=7)
    _value_labels(ax, expenses, [m["expenses"] for m in months], currency, fontsize=7)
    (net,) = ax.plot(
        positions,
        [float(m["net"]) for m in months],
        color=NET,
        marker="o",
        markersize=5,
        linewidth=2,
        label="Net",
        zorder=3,
    )
    ax.axhline(0, color="#999999", linewidth=0.8)
    ax.set_xticks(positions, labels=[calendar.month_abbr[int(m["month"][5:7])] for m in months])
    ax.yaxis.set_major_formatter(FuncFormatter(_compact))
    ax.set_ylabel(currency, color=MUTED, fontsize=9)
    ax.margins(y=0.12)
    figure.legend(
        handles=[income, expenses, net],
        loc="outside lower center",
        ncols=3,
        frameon=False,
        fontsize=9,
    )
    _tidy(ax, "y")
    return _save(figure, fmt, title)


# --- time series -----------------------------------------------------------------------------

BUCKET_DAYS = {"day": 1, "week": 7, "month": 30}
LAST_DATE_NUM = float(date2num(datetime(9999, 12, 31, 23, 59)))


def render_timeseries(data: dict[str, Any], fmt: str) -> bytes:
    """Bars per day, week or budget month from `services.timeseries`; more than
    MAX_BARS points become a line."""
    currency, kind, bucket = data["currency"], data["kind"], data["bucket"]
    start, end, points = data["start"], data["end"], data["points"]
    title = f"{KIND_TITLES[kind]} per {bucket}"
    subtitle = f"{start} – {end} · {currency}"
    if not any(point["count"] for point in points):
        message = f"No {KIND_NOUNS[kind]} between {start} and {end}"
        return _empty(title, subtitle, message, fmt)
    span = BUCKET_DAYS[bucket]
    totals = [point["total"] for point in points]
    values = [float(total) for total in totals]
    figure = _new_figure(4.8)
    ax = figure.add_subplot()
    _titles(figure, ax, title, subtitle)
    if kind == "net":
        colours = [INCOME if value >= 0 else EXPENSE for value in values]
    else:
        colours = [INCOME if kind == "income" else EXPENSE] * len(values)
    if len(points) > MAX_BARS:
        centres = [date2num(point["period_start"]) + span / 2 for point in points]
        line_colour = NET if kind == "net" else colours[0]
        ax.plot(centres, values, color=line_colour, linewidth=1.4)
        if kind == "net":
            ax.fill_between(
                centres, values, 0, where=[v >= 0 for v in values], color=INCOME, alpha=0.3
            )
            ax.fill_between(
                centres, values, 0, where=[v < 0 for v in values], color=EXPENSE, alpha=0.3
            )
        else:
            ax.fill_between(centres, values, 0, color=line_colour, alpha=0.2)
    else:
        lefts = [date2num(point["period_start"]) + span * 0.1 for point in points]
        bars = ax.bar(lefts, values, width=span * 0.8, align="edge", color=colours)
        if len(points) <= MAX_VALUE_LABELS:
            _value_labels(ax, bars, totals, currency)
    if kind == "net":
        ax.axhline(0, color="#999999", linewidth=0.8)
    # In date numbers, and no later than matplotlib's (and Python's) last representable day.
    first = date2num(min(points[0]["period_start"], start))
    last = max(date2num(points[-1]["period_start"]) + span, date2num(end) + 1)
    ax.set_xlim(first, min(last, LAST_DATE_NUM))
    locator = AutoDateLocator(minticks=3, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, show_offset=False))
    ax.yaxis.set_major_formatter(FuncFormatter(_compact))
    ax.set_ylabel(currency, color=MUTED, fontsize=9)
    ax.margins(y=0.12)
    _tidy(ax, "y")
    return _save(figure, fmt, title)


# --- budget status ---------------------------------------------------------------------------


def _budget_label(line: Any) -> str:
    if line.budget.scope == Scope.OVERALL:
        return "Overall"
    return _plain(line.budget.category.name)


def render_budget_status(data: dict[str, Any], fmt: str) -> bytes:
    """Per budget, the share of the available amount spent, coloured by level, with the
    warn threshold marked, from `budgets.selectors.budget_status`."""
    currency = data["currency"]
    title = "Budget status"
    subtitle = f"{data['month']} ({data['start']} – {data['end']}) · {currency}"
    lines = ([data["overall"]] if data["overall"] is not None else []) + list(data["items"])
    if not lines:
        return _empty(title, subtitle, f"No budgets for {data['month']}", fmt)
    if data["unbudgeted_spent"]:
        subtitle += f" · unbudgeted spending {_amount(data['unbudgeted_spent'], currency)}"
    figure = _new_figure(2.0 + 0.55 * len(lines))
    ax = figure.add_subplot()
    _titles(figure, ax, title, subtitle)
    positions = list(range(len(lines)))
    percents = [float(line.percent_used) for line in lines]
    drawn = [min(p, BUDGET_CAP) for p in percents]
    ax.barh(positions, [100] * len(lines), height=0.6, color=TRACK)
    ax.barh(
        positions,
        drawn,
        height=0.6,
        color=[STATUS_COLOURS[line.status] for line in lines],
    )
    for y, line, shown, percent in zip(positions, lines, drawn, percents, strict=True):
        threshold = float(line.budget.warn_threshold) * 100
        ax.vlines(threshold, y - 0.38, y + 0.38, color=INK, linewidth=1.6)
        if percent > BUDGET_CAP:
            ax.text(shown + 1, y, "»", va="center", ha="left", fontsize=12, color=INK)
        left = line.remaining
        state = (
            f"{_amount(left, currency)} left" if left >= 0 else f"{_amount(-left, currency)} over"
        )
        ax.annotate(
            f"{_amount(line.spent, currency)} of {_amount(line.available, currency)}"
            f" · {line.percent_used}% · {state}",
            xy=(1.01, y),
            xycoords=("axes fraction", "data"),
            va="center",
            ha="left",
            fontsize=9,
            color=STATUS_COLOURS[EXCEEDED] if line.status == EXCEEDED else INK,
        )
    ax.axvline(100, color="#999999", linewidth=0.8, linestyle="--")
    ax.set_yticks(positions, labels=[_budget_label(line) for line in lines])
    ax.invert_yaxis()
    ax.set_xlim(0, max(100.0, *drawn) + 6)
    ax.xaxis.set_major_locator(MultipleLocator(25))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:.0f}%"))
    ax.set_xlabel("share of the available budget spent", color=MUTED, fontsize=9)
    legend = [
        Patch(color=STATUS_COLOURS[OK], label="OK"),
        Patch(color=STATUS_COLOURS[WARN], label="Warning"),
        Patch(color=STATUS_COLOURS[EXCEEDED], label="Exceeded"),
        Line2D([], [], color=INK, linewidth=1.6, label="Warn threshold"),
    ]
    figure.legend(handles=legend, loc="outside lower center", ncols=4, frameon=False, fontsize=9)
    _tidy(ax, "x")
    return _save(figure, fmt, title)


RENDERERS = {
    "category-breakdown": render_category_breakdown,
    "monthly": render_monthly,
    "timeseries": render_timeseries,
    "budget-status": render_budget_status,
}


def render(name: str, data: dict[str, Any], fmt: str) -> bytes:
    return RENDERERS[name](data, fmt)
