"""Contract fuzzing: every documented operation answers as the OpenAPI schema says.

Schemathesis loads the schema the app itself serves and calls the app in-process
(WSGI) with a real JWT for a user who owns data. For valid and invalid input alike
it checks: no 5xx, only documented status codes, documented content types and
headers, response bodies matching their schema, and that requests without the
token are refused. A stateful run then chains operations through the links
Schemathesis infers from the schema (create → retrieve/update/delete).

Two default checks are left out, on purpose:

- `positive_data_acceptance` (schema-valid input must not get a 400): rules that
  OpenAPI 3.0 cannot express are enforced with a documented 400 by design (SPEC §3):
  `end` before `start`, unknown ISO 4217 codes, more decimals than the currency
  allows, amount limits, unique names.
- `negative_data_rejection` (schema-invalid input must get a 4xx): form-encoded
  bodies turn every value into a string (`only_uncategorized=0` is DRF's "false"),
  and an empty query value (`?start_date=`) deliberately means "no filter", as in
  django-filter. Invalid input is still fuzzed; its answers must be documented.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from budget_tracker.wsgi import application
from tests.conftest import reset_to_populated
from tests.fuzz_depth import DEEP, examples

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA_PATH = "/api/v1/schema/"
# Random examples per operation, on top of the coverage phase, which sends every operation
# the boundary and type-violation cases derived from its schema (~85 on average). Writes get
# the most; reads take only filters and paging in the query string, which the coverage phase
# already walks value by value. test_contract_hostile.py adds 40 (reads) and 60 (writes)
# hostile money and date values to every operation that takes money, dates or uploads.
# These are the deep counts (FUZZ_DEPTH=deep); `make test` runs a third (tests/fuzz_depth.py).
MAX_EXAMPLES = examples(15)
# Without the coverage phase (below), quick reads get a few more random examples.
READ_EXAMPLES = 8 if DEEP else 10


def fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


BOOK_TWINS = (
    r"^/api/v1/books/\{book_id\}/"
    r"(?!members/|invitations/|settlements/|balances/|settle-up/|export/(balances|settlements)\.csv)"
)


# Loaded eagerly at collection: schema generation touches no rows. (The lazy
# `schemathesis.pytest.from_fixture` loader relies on `Function._nodeid`, which
# pytest 9 removed.)
def load_schema(*, coverage: bool = True) -> schemathesis.schemas.BaseSchema:
    config = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": coverage}}})
    return (
        schemathesis.openapi.from_wsgi(SCHEMA_PATH, application, config=config)
        .exclude(
            # Deletes the very user the run authenticates as; covered by
            # tests/test_account_deletion.py.
            name="DELETE /api/v1/auth/me/",
        )
        # A book's record routes are the top-level views again (same serializers, filters and
        # schema), so fuzzing them twice proves nothing new; what only books have (members,
        # invitations, settlements, balances, settle-up and their CSVs, /books/ itself) is
        # fuzzed. tests/test_books_matrix.py walks them all.
        .exclude(path_regex=BOOK_TWINS)
    )


schema = load_schema()
# Reads take only filters and paging in the query string; their coverage phase walks
# every parameter value by value. `make test` leaves it to FUZZ_DEPTH=deep (CI): the
# random examples, the hostile reads (tests/test_contract_hostile.py) and the filter
# tests of each app still run.
read_schema = schema if DEEP else load_schema(coverage=False)

EXCLUDED_CHECKS = [positive_data_acceptance, negative_data_rejection]


@schema.exclude(method="GET").parametrize()
@fuzz_settings(MAX_EXAMPLES)
def test_every_write_honours_the_schema(case, auth_headers):
    case.call_and_validate(headers=auth_headers, excluded_checks=EXCLUDED_CHECKS)


@read_schema.include(method="GET").parametrize()
@fuzz_settings(READ_EXAMPLES)
def test_every_read_honours_the_schema(case, auth_headers):
    case.call_and_validate(headers=auth_headers, excluded_checks=EXCLUDED_CHECKS)


def test_linked_operations_honour_the_schema(owner, owner_settings, auth_headers):
    class Workflow(schema.as_state_machine()):
        def teardown(self):
            reset_to_populated(owner, owner_settings)

        def get_call_kwargs(self, case):
            return {"headers": auth_headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(
                response,
                headers=auth_headers,
                additional_checks=additional_checks,
                excluded_checks=EXCLUDED_CHECKS,
                transport_kwargs=kwargs,
            )

    Workflow.run(
        settings=settings(
            max_examples=MAX_EXAMPLES,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
