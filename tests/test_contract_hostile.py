"""Contract fuzzing with hostile values where the 500s of the last black-box probe were.

The operations that take money, dates, rules or uploads get more examples than the
general run in test_contract.py (40 for reads, 60 for writes), and their `decimal` and
`date` strings come from strategies that mix valid values with the classes the probe
used: huge and tiny exponents, underscores, non-ASCII digits, too many significant
digits, 0–5 decimal places, and dates at and beyond the supported range (0001-01-01,
1899-12-31, 2199-12-31, 2200-01-01, 9999-12-31). Every answer must be documented and
never 5xx.

Only Schemathesis' examples and fuzzing phases run here: its coverage phase derives its
cases from the schema alone, without the strategies below, so it would send these
operations exactly the cases test_contract.py already sends them (checked case for case).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from budget_tracker.wsgi import application
from tests.fuzz_depth import examples
from tests.test_contract import EXCLUDED_CHECKS, SCHEMA_PATH

pytestmark = pytest.mark.django_db(transaction=True)

# Deep counts (FUZZ_DEPTH=deep); `make test` runs a third (tests/fuzz_depth.py).
HOSTILE_READ_EXAMPLES = examples(40)
HOSTILE_WRITE_EXAMPLES = examples(60)

_digits = st.text(alphabet="0123456789", min_size=1, max_size=30)
hostile_decimals = st.one_of(
    # valid-looking amounts with 0–5 decimal places
    st.builds(
        lambda whole, frac: f"{whole}.{frac}" if frac else whole,
        st.text(alphabet="0123456789", min_size=1, max_size=13),
        st.text(alphabet="0123456789", max_size=5),
    ),
    st.sampled_from(
        [
            "1e1000000",
            "-1e-1000000",
            "1E+999999",
            "1_000",
            "\u0661\u0662",
            "\uff11\uff12",
            "NaN",
            "Infinity",
            "-0",
            "0.0001",
            "0.00001",
            "999999999999",
            "1000000000000",
            " 12.5 ",
            "12,50",
            "+5",
            ".5",
            "5.",
            "0x10",
            "1" * 29,
            "0." + "0" * 40 + "1",
        ]
    ),
    st.builds(lambda d, e: f"{d}e{e}", _digits, st.integers(-(10**7), 10**7)),
)
hostile_dates = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "0001-01-01",
            "1899-12-31",
            "1900-01-01",
            "2199-12-31",
            "2200-01-01",
            "9999-12-31",
            "2026-02-30",
            "2026-13-01",
            "20260101",
            "2026-1-1",
            "+2026-01-01",
        ]
    ),
)
schemathesis.openapi.format("decimal", hostile_decimals)
schemathesis.openapi.format("date", hostile_dates)

MONEY_DATE_AND_UPLOAD_PATHS = (
    r"^/api/v1/(expenses|incomes|budgets|goals|recurring|rules|rates|convert|summary"
    r"|reports/(summary|monthly|trends|timeseries)|imports|import/backup)/"
)

WITHOUT_COVERAGE_PHASE = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})

# One include() per selection: the criteria of one call must all match, while separate
# include() calls add their operations together.
schema = schemathesis.openapi.from_wsgi(SCHEMA_PATH, application, config=WITHOUT_COVERAGE_PHASE)
writes = schema.include(path_regex=MONEY_DATE_AND_UPLOAD_PATHS, method=["POST", "PUT", "PATCH"])
reads = schema.include(path_regex=MONEY_DATE_AND_UPLOAD_PATHS, method="GET")


def hostile_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


@writes.parametrize()
@hostile_settings(HOSTILE_WRITE_EXAMPLES)
def test_hostile_money_and_dates_never_break_the_contract(case, auth_headers):
    case.call_and_validate(headers=auth_headers, excluded_checks=EXCLUDED_CHECKS)


@reads.parametrize()
@hostile_settings(HOSTILE_READ_EXAMPLES)
def test_hostile_money_and_dates_in_queries_never_break_the_contract(case, auth_headers):
    case.call_and_validate(headers=auth_headers, excluded_checks=EXCLUDED_CHECKS)
