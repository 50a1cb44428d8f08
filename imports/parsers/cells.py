"""Reading the cells of a statement table: signed amounts, dates and text (SPEC §11).

Pure functions over the values a CSV gives (`str`) or an XLSX gives (numbers, datetimes,
text), plus the per-file guesses: which decimal separator and which date format. Amounts
are built as `Decimal` from text, never through float arithmetic.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal

from core.money import is_currency, parse_money

Cell = str | int | float | Decimal | date | datetime | None

# --- amounts -----------------------------------------------------------------------------

# "12.50 DR" / "12.50CR" (UK/AU/IN statements); not the "DR" of a code such as IDR.
_DEBIT_CREDIT_SUFFIX = re.compile(r"(?<![A-Za-z])(CR|DR)\.?\s*$", re.IGNORECASE)
_NOT_AMOUNT_CHAR = re.compile(r"[^0-9.,+\-()]")
_NOT_NUMBER_CHAR = re.compile(r"[^0-9.,]")
# Integer part either grouped by threes with the thousands separator or plain digits.
_POINT_NUMBER = re.compile(r"([0-9]{1,3}(?:,[0-9]{3})+|[0-9]*)(?:\.([0-9]+))?")
_COMMA_NUMBER = re.compile(r"([0-9]{1,3}(?:\.[0-9]{3})+|[0-9]*)(?:,([0-9]+))?")
# "1,234" or "1.234": a thousands group or three decimals — says nothing on its own.
_AMBIGUOUS_GROUP = re.compile(r"[0-9]{1,3}[.,][0-9]{3}")
# The common case, read without the general machinery: "-12.50" / "-12,50".
_PLAIN = {
    ".": re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,6})?"),
    ",": re.compile(r"-?[0-9]{1,15}(?:,[0-9]{1,6})?"),
}
# Every currency symbol Unicode knows (category Sc: $ € £ ¥ ₹ ₩ ₽ ...).
_SYMBOLS = "".join(chr(code) for code in range(0x10000) if unicodedata.category(chr(code)) == "Sc")
# A currency code or symbol next to the number: "EUR", "US$", "R$", "kr", "kr.", "zł", "€".
# Letters are allowed only here (and in the DR/CR suffix): a letter inside the number
# ("-1.5E3", "-12x34") makes the cell not an amount rather than a different number.
_MARK = rf"(?:[^\W\d_]{{1,4}}\.?\s*[{re.escape(_SYMBOLS)}]?|[{re.escape(_SYMBOLS)}])"
_SHAPE = re.compile(
    rf"(?P<lead>[\s+\-(]*)(?:(?P<before>{_MARK})(?P<gap>[\s+\-(]*))?"
    r"(?P<number>[0-9.,][0-9.,'\s]*?)"
    rf"(?P<tail>[\s+\-)]*)(?:(?P<after>{_MARK})(?P<end>[\s+\-)]*))?"
)
# Spaces and apostrophes only as thousands separators: "1 234,56", "1'234.50".
_SPACE_GROUPED = re.compile(r"[0-9]{1,3}(?:[\s'][0-9]{3})+(?:[.,][0-9]*)?")
_MAX_AMOUNT_CHARS = 40
# Currency symbols written in letters, as statements print them next to amounts.
_LOCAL_SYMBOLS = frozenset(
    {"kr", "zł", "zl", "kč", "kc", "ft", "fr", "sfr", "lei", "lv", "лв", "rs", "din", "tl", "rp"}
    | {"руб", "р", "грн", "rm", "s/", "dh", "dhs", "sr", "qr", "kn", "eur", "usd", "gbp"}
)


def parse_amount(value: Cell, decimal_separator: str) -> Decimal:
    """The signed amount in one cell; raises `ValueError` when the cell is not an amount.

    Text may carry one currency code or symbol before or after the number, spaces or
    apostrophes as thousands separators, a leading or trailing sign ("-12,50", "+50,00",
    "+ £1,100.00", "12.50-"), accounting parentheses ("(12.50)") or a DR/CR suffix; DR,
    "-" and parentheses mean negative. Any other letter, an exponent, an underscore or a
    non-ASCII digit is refused. The number itself goes through `core.money.parse_money`,
    the project's one number grammar, so the result is exactly the number written or a
    `ValueError` — never a different number.
    """
    return parse_amount_marked(value, decimal_separator)[0]


def parse_amount_marked(value: Cell, decimal_separator: str) -> tuple[Decimal, bool]:
    """`parse_amount`, plus whether the cell's sign came from a DR/CR suffix: such a
    sign is an explicit credit/debit marker, which `negate` does not flip."""
    if isinstance(value, str):
        return _parse_amount_text(value, decimal_separator)
    return _parse_amount_value(value), False


def _parse_amount_value(value: Cell) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ValueError("not an amount")
    if isinstance(value, int | Decimal):
        return parse_money(value)
    if isinstance(value, float):
        return parse_money(float_to_decimal(value))
    raise ValueError("not an amount")


def float_to_decimal(value: float) -> Decimal:
    """A spreadsheet number as the decimal the user typed (12.5 → 12.5, not 12.4999…).

    `repr` gives the shortest text that round-trips; binary noise from formulas
    (0.1 + 0.2) is rounded away at 6 decimal places. Raises `ValueError` for values no
    amount can have (non-finite, or beyond `parse_money`'s range).
    """
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("not a finite amount")
    number = parse_money(Decimal(repr(value)))
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -6:
        number = number.quantize(Decimal("0.000001"))
        # drop the trailing zeros the rounding may leave, without going to E-notation
        text = f"{number:f}".rstrip("0").rstrip(".")
        number = Decimal(text)
    return number


def _is_currency_mark(mark: str) -> bool:
    """Empty, a currency symbol, or letters that are an ISO code or a local symbol."""
    letters = "".join(char for char in mark if char.isalpha())
    return (
        not letters
        or is_currency(letters.upper())
        or letters.casefold() in _LOCAL_SYMBOLS
        or (len(letters) <= 3 and letters.isupper() and "$" in mark)  # US$, R$, NZ$
    )


def _parse_amount_text(text: str, decimal_separator: str) -> tuple[Decimal, bool]:
    text = text.strip()
    if len(text) > _MAX_AMOUNT_CHARS:
        raise ValueError("amount too long")
    plain = _PLAIN.get(decimal_separator)
    if plain is not None and plain.fullmatch(text):
        return parse_money(text.replace(",", ".") if decimal_separator == "," else text), False
    text = text.replace("\u2212", "-").replace("\u2019", "'")
    negative = False
    suffix = _DEBIT_CREDIT_SUFFIX.search(text)
    if suffix:
        negative = suffix.group(1).upper() == "DR"
        text = text[: suffix.start()]
    shape = _SHAPE.fullmatch(text)
    if shape is None or (shape["before"] and shape["after"]):
        raise ValueError("not an amount")
    if not _is_currency_mark(shape["before"] or shape["after"] or ""):
        raise ValueError("not an amount")
    number_text = shape["number"].rstrip()
    spaced = any(char.isspace() or char == "'" for char in number_text)
    if spaced and not _SPACE_GROUPED.fullmatch(number_text):
        raise ValueError("not an amount")
    core = _NOT_AMOUNT_CHAR.sub(
        "", "".join(shape[part] or "" for part in ("lead", "gap", "number", "tail", "end"))
    )
    parenthesised = core.startswith("(") and core.endswith(")")
    if parenthesised:
        negative = not negative
        core = core[1:-1]
    sign = ""
    if core[:1] in ("+", "-"):
        sign, core = core[0], core[1:]
    elif core[-1:] in ("+", "-"):
        sign, core = core[-1], core[:-1]
    if sign and parenthesised:
        raise ValueError("both a sign and parentheses")
    if sign == "-":
        negative = not negative
    pattern = _POINT_NUMBER if decimal_separator == "." else _COMMA_NUMBER
    match = pattern.fullmatch(core)
    if not match or not (match.group(1) or match.group(2)):
        raise ValueError("not an amount")
    thousands = "," if decimal_separator == "." else "."
    integer = match.group(1).replace(thousands, "") or "0"
    fraction = match.group(2)
    number = parse_money(f"{integer}.{fraction}" if fraction else integer)
    return (-number if negative else number), suffix is not None


def detect_decimal_separator(values: Iterable[Cell], *, fallback: str = ".") -> str:
    """ "," or "." — whichever the file's amount texts use as decimal separator.

    Each text votes: with both separators the last one is decimal ("1.234,56"); a single
    separator is decimal unless it repeats ("1.234.567") or forms exactly one thousands
    group ("1,234", which says nothing). Ties (e.g. only whole numbers) give `fallback`.
    """
    point = comma = 0
    for value in values:
        if not isinstance(value, str):
            continue
        core = _NOT_NUMBER_CHAR.sub("", value)
        has_point, has_comma = "." in core, "," in core
        if has_point and has_comma:
            if core.rfind(",") > core.rfind("."):
                comma += 1
            else:
                point += 1
        elif has_comma:
            if core.count(",") > 1:
                point += 1
            elif not _AMBIGUOUS_GROUP.fullmatch(core):
                comma += 1
        elif has_point:
            if core.count(".") > 1:
                comma += 1
            elif not _AMBIGUOUS_GROUP.fullmatch(core):
                point += 1
    if comma > point:
        return ","
    if point > comma:
        return "."
    return fallback


# --- dates -------------------------------------------------------------------------------

# Day-first before month-first: statements outside the US write 03/04 for 3 April.
DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%Y%m%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d/%m/%y",
    "%m/%d/%y",
    "%d.%m.%y",
    "%d-%m-%y",
    "%m-%d-%y",
    "%d %b %Y",
    "%d-%b-%Y",
    "%d/%b/%Y",
    "%d %b %y",
    "%d-%b-%y",
    "%d %B %Y",
    "%b %d, %Y",
    "%b %d %Y",
    "%B %d, %Y",
    "%B %d %Y",
)
_DAY_FIRST_TWIN = {
    "%m/%d/%Y": "%d/%m/%Y",
    "%m-%d-%Y": "%d-%m-%Y",
    "%m/%d/%y": "%d/%m/%y",
    "%m-%d-%y": "%d-%m-%y",
}


def _month_first_order() -> tuple[str, ...]:
    order = [fmt for fmt in DATE_FORMATS if fmt not in _DAY_FIRST_TWIN]
    for month_first, day_first in _DAY_FIRST_TWIN.items():
        order.insert(order.index(day_first), month_first)
    return tuple(order)


_MONTH_FIRST_FORMATS = _month_first_order()

_TOKEN_SHAPES = {
    "%Y": r"\d{4}",
    "%y": r"\d{2}",
    "%m": r"\d{1,2}",
    "%d": r"\d{1,2}",
    "%b": r"[A-Za-z]{3}",
    "%B": r"[A-Za-z]{3,9}",
}


def _shape(fmt: str) -> re.Pattern[str]:
    """A cheap regex a text must fully match before `strptime` is worth trying."""
    if fmt == "%Y%m%d":
        return re.compile(r"\d{8}")
    parts = []
    for piece in re.split(r"(%[YymdbB])", fmt):
        if piece in _TOKEN_SHAPES:
            parts.append(_TOKEN_SHAPES[piece])
        else:
            parts.append(r"\s+".join(re.escape(word) for word in piece.split(" ")))
    return re.compile("".join(parts), re.IGNORECASE)


_SHAPES = {fmt: _shape(fmt) for fmt in DATE_FORMATS}
# A time of day after the date ("2018-03-01T11:33:59", "01/03/2018 14:05 PM") is dropped.
_TIME_SUFFIX = re.compile(
    r"[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s?[AaPp]\.?[Mm]\.?)?"
    r"(?:\s?(?:Z|UTC|GMT|[+-]\d{2}:?\d{2}))?$"
)
_MIN_YEAR, _MAX_YEAR = 1900, 2100
_EXCEL_EPOCH = date(1899, 12, 30)


def clean_date_text(text: str) -> str:
    """The date part of a date cell's text: trimmed, single-spaced, without a time of day."""
    text = " ".join(text.split())
    return _TIME_SUFFIX.sub("", text)


def parse_date_text(text: str, fmt: str) -> date | None:
    """The date in `text` under `fmt`, or None (years outside 1900–2100 are not dates)."""
    shape = _SHAPES.get(fmt)
    if shape is not None and not shape.fullmatch(text):
        return None
    try:
        parsed = datetime.strptime(text, fmt).date()
    except ValueError:
        return None
    if not _MIN_YEAR <= parsed.year <= _MAX_YEAR:
        return None
    return parsed


def detect_date_format(texts: Iterable[str], *, month_first: bool = False) -> str | None:
    """The one format of `DATE_FORMATS` that parses the most of `texts` (ideally all).

    Ties go to the earlier format in the preference order: ISO first, then day-first
    (03/04/2018 = 3 April) unless `month_first`, for files that look American.
    """
    distinct = {text for text in texts if text}
    if not distinct:
        return None
    order = _MONTH_FIRST_FORMATS if month_first else DATE_FORMATS
    best: tuple[int, str] | None = None
    for fmt in order:
        count = sum(1 for text in distinct if parse_date_text(text, fmt) is not None)
        if count and (best is None or count > best[0]):
            best = (count, fmt)
            if count == len(distinct):
                break
    return best[1] if best else None


def number_to_date(value: int | float | Decimal) -> date | None:
    """A number in a date column: an Excel serial day (43160) or yyyymmdd (20180301)."""
    if isinstance(value, float) and not value.is_integer() and not 20000 <= value < 80000:
        return None
    number = int(value)
    if 20000 <= number < 80000:
        return _EXCEL_EPOCH + timedelta(days=number)
    if 19000101 <= number <= 21001231:
        return parse_date_text(str(number), "%Y%m%d")
    return None


# --- text --------------------------------------------------------------------------------


def cell_text(value: Cell) -> str:
    """A cell as text, for descriptions, names and codes ("12345", not "12345.0")."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def collapse(text: str, limit: int = 255) -> str:
    """Whitespace collapsed to single spaces, trimmed, cut to `limit` characters."""
    return " ".join(text.split())[:limit].rstrip()
