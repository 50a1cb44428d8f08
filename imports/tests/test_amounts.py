"""Statement amounts: one strict grammar (core.money.parse_money) behind every format."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imports.parsers.cells import parse_amount, parse_amount_marked
from imports.parsers.ofx_parser import _amount as ofx_amount
from imports.parsers.qif_parser import _canonical_amount as qif_amount
from tests.fuzz_depth import examples

HOSTILE = [
    "-1.5E3",
    "-12x34",
    "1e1000000",
    "1E+1000000",
    "1_000",
    "\u0661\u0662",  # Arabic-Indic digits
    "\uff11\uff12",  # full-width digits
    "1" * 30,
    "0." + "1" * 30,
    "12 34",
    "12.5.5",
    "(-12.00)",
    "EUR 12 USD",
    "NaN",
    "Infinity",
    "--5",
    "12abc",
    "abc12",
]


@pytest.mark.parametrize("cell", HOSTILE)
@pytest.mark.parametrize("separator", [".", ","])
def test_letters_exponents_and_odd_digits_are_not_amounts(cell, separator):
    with pytest.raises(ValueError):
        parse_amount(cell, separator)


@pytest.mark.parametrize("cell", ["-1.5E3", "1e1000000", "1_000", "\u0661\u0662", "1" * 30])
def test_ofx_and_qif_amounts_use_the_same_grammar(cell):
    assert ofx_amount(cell) is None
    assert qif_amount(cell, decimal_comma=False) is None


def test_ofx_amount_reads_a_decimal_comma():
    assert ofx_amount("-12,50") == Decimal("-12.50")


@pytest.mark.parametrize(
    ("cell", "separator", "expected"),
    [
        ("kr 1.234,56", ",", "1234.56"),
        ("1 234,56 €", ",", "1234.56"),
        ("CHF 1'234.50", ".", "1234.50"),
        ("R$ 10,00", ",", "10.00"),
        ("12,50 zł", ",", "12.50"),
        ("US$ 12.00", ".", "12.00"),
        ("12.50 EUR DR", ".", "-12.50"),
    ],
)
def test_currency_marks_around_the_number_are_allowed(cell, separator, expected):
    assert parse_amount(cell, separator) == Decimal(expected)


@pytest.mark.parametrize("value", [1e300, float("inf"), Decimal("1E+1000000"), 10**40])
def test_spreadsheet_numbers_out_of_range_are_not_amounts(value):
    with pytest.raises(ValueError):
        parse_amount(value, ".")


# --- properties ---------------------------------------------------------------------


def group(integer: str, separator: str) -> str:
    head = len(integer) % 3 or 3
    parts = [integer[:head]] + [integer[i : i + 3] for i in range(head, len(integer), 3)]
    return separator.join(parts)


@st.composite
def written_amounts(draw):
    """(value, cell text, decimal separator) with the value written as banks write it."""
    places = draw(st.integers(0, 4))
    value = draw(
        st.decimals(
            min_value=Decimal("-999999999999"),
            max_value=Decimal("999999999999"),
            places=places,
            allow_nan=False,
            allow_infinity=False,
        )
    )
    decimal_mark = draw(st.sampled_from([".", ","]))
    integer, _, fraction = f"{abs(value):f}".partition(".")
    grouping = draw(st.sampled_from(["", "thousands", " ", "'"]))
    if grouping == "thousands":
        integer = group(integer, "," if decimal_mark == "." else ".")
    elif grouping:
        integer = group(integer, grouping)
    number = integer + (decimal_mark + fraction if fraction else "")
    negative = value < 0
    style = draw(st.sampled_from(["-x", "x-", "(x)", "x DR", "+x", "x"]))
    if not negative and style in ("-x", "x-", "(x)", "x DR"):
        style = draw(st.sampled_from(["+x", "x", "x CR"]))
    if negative and style in ("+x", "x"):
        style = "-x"
    text = style.replace("x", number)
    mark = draw(st.sampled_from(["", "EUR ", " EUR", "$", "€ ", " kr", "US$ "]))
    if mark.startswith(" "):
        text = text + mark if "DR" not in text and "CR" not in text else text
    elif mark:
        text = mark + text
    return value, text, decimal_mark


@settings(max_examples=examples(300), deadline=None, derandomize=True, database=None)
@given(written_amounts())
def test_a_written_amount_reads_back_exactly(case):
    value, text, decimal_mark = case
    assert parse_amount(text, decimal_mark) == value, text


hostile_inserts = st.sampled_from(["e", "E5", "x", "_", "\u0663", "\uff15", "e1000000", "O", "l"])


@settings(max_examples=examples(300), deadline=None, derandomize=True, database=None)
@given(written_amounts(), hostile_inserts, st.data())
def test_a_letter_or_odd_digit_inside_the_number_is_an_error(case, insert, data):
    _value, text, decimal_mark = case
    digits = [i for i, char in enumerate(text) if char.isdigit()]
    # inside the number: after its first digit, before its last
    if len(digits) < 2:
        return
    position = data.draw(st.integers(digits[0] + 1, digits[-1]))
    with pytest.raises(ValueError):
        parse_amount(text[:position] + insert + text[position:], decimal_mark)


@settings(max_examples=examples(500), deadline=None, derandomize=True, database=None)
@given(
    st.one_of(
        st.text(max_size=50),
        st.text(alphabet="0123456789.,-+() eE_$€'DRC\u0661\u00a0", max_size=30),
    ),
    st.sampled_from([".", ","]),
)
def test_any_cell_is_a_decimal_or_a_value_error(cell, separator):
    try:
        result = parse_amount(cell, separator)
    except ValueError:
        return
    assert isinstance(result, Decimal)
    assert result.is_finite()
    # never a number whose digits the cell does not spell out
    spelled = "".join(char for char in cell if char in "0123456789")
    assert f"{abs(result):f}".replace(".", "").lstrip("0") in spelled.lstrip("0") or not result


# --- issue 12: amounts as real statements write them ------------------------------------

MARKS = ["£", "€", "$", "US$", "¥", "₹", "EUR", "GBP", "CHF", "kr", "zł", "R$"]
# thousands separators by decimal mark: NBSP, narrow NBSP and the typographic apostrophe
# are what spreadsheets and Swiss banks put between digit groups
GROUPS = {
    ".": ["", ",", " ", "\u00a0", "\u202f", "'", "\u2019"],
    ",": ["", ".", " ", "\u00a0", "\u202f"],
}


@st.composite
def statement_amounts(draw):
    """(value, cell text, decimal mark): a currency mark before or after the number, with
    or without a space, thousands groups, and the sign as "-", "−", "- ", "+", "+ ",
    trailing "-", parentheses or a DR/CR suffix, before or after the mark."""
    value = draw(
        st.decimals(
            min_value=Decimal("-99999999.99"),
            max_value=Decimal("99999999.99"),
            places=2,
            allow_nan=False,
            allow_infinity=False,
        ).filter(bool)
    )
    decimal_mark = draw(st.sampled_from([".", ","]))
    integer, _, fraction = f"{abs(value):f}".partition(".")
    integer = group(integer, draw(st.sampled_from(GROUPS[decimal_mark])))
    number = integer + decimal_mark + fraction
    mark = draw(st.sampled_from(["", *MARKS]))
    gap = draw(st.sampled_from(["", " "])) if mark else ""
    before = bool(mark) and draw(st.booleans())
    body = mark + gap + number if before else number + gap + mark
    if value < 0:
        style = draw(st.sampled_from(["-x", "\u2212x", "- x", "x-", "(x)", "x DR", "xDR"]))
    else:
        style = draw(st.sampled_from(["x", "+x", "+ x", "x CR", "xCR"]))
    if body[-1].isalpha() and style in ("xDR", "xCR"):
        style = f"x {style[1:]}"  # "12 EURCR" would hide the marker in a word
    if mark and body.startswith(mark) and style in ("-x", "+x") and draw(st.booleans()):
        text = mark + gap + style[0] + number  # "£-12.34", "€+5,00"
    else:
        text = style.replace("x", body)
    return value, text, decimal_mark


@settings(max_examples=examples(500), deadline=None, derandomize=True, database=None)
@given(statement_amounts())
def test_an_amount_in_any_statement_style_reads_back_exactly(case):
    value, text, decimal_mark = case

    assert parse_amount(text, decimal_mark) == value, text


@pytest.mark.parametrize(
    ("cell", "separator", "expected"),
    [
        ("£1,100.00", ".", "1100.00"),
        ("+ £1,100.00", ".", "1100.00"),
        ("1.234,56 €", ",", "1234.56"),
        ("US$ 12", ".", "12"),
        ("+ 12.00", ".", "12.00"),
        ("CHF 1\u2019234.50", ".", "1234.50"),
        ("- £ 12.34", ".", "-12.34"),
        ("£12.34 DR", ".", "-12.34"),
    ],
)
def test_the_issues_amount_styles(cell, separator, expected):
    assert parse_amount(cell, separator) == Decimal(expected)


def test_only_a_dr_cr_suffix_marks_the_sign_as_explicit():
    assert parse_amount_marked("12.50 CR", ".") == (Decimal("12.50"), True)
    assert parse_amount_marked("12.50DR", ".") == (Decimal("-12.50"), True)
    assert parse_amount_marked("+ £12.50", ".") == (Decimal("12.50"), False)
    assert parse_amount_marked("-12.50", ".") == (Decimal("-12.50"), False)
    assert parse_amount_marked(Decimal("-3"), ".") == (Decimal("-3"), False)
