"""The backup format is declared once (document.DOCUMENT): the export writes, a restore
reads and stores, and the OpenAPI schema describes exactly what the declaration says,
and every limit in it is the owning app's."""

from __future__ import annotations

import ast
import inspect
from decimal import Decimal

import pytest
from drf_spectacular.generators import SchemaGenerator

from backups import views
from backups.document import (
    BUDGETS,
    CATEGORIES,
    CONTRIBUTIONS,
    DOCUMENT,
    EXPENSES,
    GOALS,
    INCOMES,
    RULES,
    SECTIONS,
    TAGS,
    USER,
    BackupInvalid,
    parse_backup,
)
from backups.fields import Text, max_length
from backups.recurring import RECURRING, backed_up_fields
from backups.services import backup_restore
from budgets.models import Budget
from categories.models import Category, Rule, Tag
from categories.serializers import COLOR_PATTERN, PRIORITY_MAX
from categories.services import NAME_MAX_LENGTH, REGEX_MAX_LENGTH
from core.exceptions import ApplicationError
from core.money import AMOUNT_DECIMAL_PLACES
from expenses.models import Expense
from expenses.tests.factories import ExpenseFactory
from goals.models import Contribution, Goal
from income.models import Income
from recurring.models import RecurringItem
from users.models import User
from users.tests.factories import UserFactory

from .conftest import export, restore

pytestmark = pytest.mark.django_db


def schema_components() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]


def declared(section) -> list[str]:
    return [field.name for field in section.fields]


# --- one declaration, four uses ---------------------------------------------------------


def test_a_field_added_to_a_declaration_is_written_read_stored_and_documented(
    monkeypatch, auth_client, user, client_for
):
    ExpenseFactory(user=user, import_fitid="FIT-42")
    fitid = Text("import_fitid", max_length=max_length(Expense, "import_fitid"))
    doc_without = export(auth_client)
    assert "import_fitid" not in doc_without["expenses"][0]

    monkeypatch.setattr(EXPENSES, "fields", (*EXPENSES.fields, fitid))

    # written: the export reads and writes it, after the declared fields before it
    doc = export(auth_client)
    assert list(doc["expenses"][0]) == declared(EXPENSES)
    assert doc["expenses"][0]["import_fitid"] == "FIT-42"
    # read: a restore checks it with the declared limit and reads it
    assert parse_backup(doc).rows(EXPENSES)[0]["import_fitid"] == "FIT-42"
    too_long = {**doc, "expenses": [{**doc["expenses"][0], "import_fitid": "x" * 256}]}
    with pytest.raises(BackupInvalid) as refused:
        parse_backup(too_long)
    assert refused.value.errors == {
        "expenses": {"0": {"import_fitid": ["Ensure this field has no more than 255 characters."]}}
    }
    # stored: a restore into a fresh account keeps it
    fresh = UserFactory(base_currency=user.base_currency)
    assert restore(client_for(fresh), doc, mode="replace").status_code == 200
    assert Expense.objects.get(user=fresh).import_fitid == "FIT-42"
    # documented: the schema component of the section lists it, with its limit
    properties = schema_components()["BackupExpense"]["properties"]
    assert list(properties) == declared(EXPENSES)
    assert properties["import_fitid"] == {"type": "string", "maxLength": 255}


def test_without_the_declaration_the_same_field_is_refused(auth_client):
    doc = export(auth_client)
    doc["expenses"] = [
        {
            "amount": "1.00",
            "currency": "USD",
            "date": "2026-03-01",
            "description": "x",
            "import_fitid": "FIT-42",
        }
    ]
    response = restore(auth_client, doc)
    assert response.status_code == 400
    assert response.json() == {"expenses": {"0": {"import_fitid": ["Unknown field."]}}}


def test_the_export_writes_the_declared_sections_and_fields_in_order(backup_of_rich):
    assert list(backup_of_rich) == ["format", "version", "exported_at", *SECTIONS]
    assert list(backup_of_rich["user"]) == declared(USER)
    for section in (CATEGORIES, TAGS, RULES, EXPENSES, INCOMES, BUDGETS, GOALS):
        assert backup_of_rich[section.name], section
        for record in backup_of_rich[section.name]:
            assert list(record) == declared(section), section
    contributions = [c for g in backup_of_rich["goals"] for c in g["contributions"]]
    assert contributions and all(list(c) == declared(CONTRIBUTIONS) for c in contributions)


def test_the_schema_describes_the_declared_sections_and_fields():
    components = schema_components()
    document = components["BackupDocumentRequest"]["properties"]
    assert list(document) == ["format", "version", "exported_at", *SECTIONS]
    for section in DOCUMENT:
        if section.name == "notification_preferences":
            continue  # an object of kinds, below
        properties = components[section.component]["properties"]
        assert list(properties) == declared(section), section
    assert list(components["BackupNotificationPreferences"]["properties"]) == [
        field.name for field in DOCUMENT[SECTIONS.index("notification_preferences")].fields
    ]
    assert list(components["BackupContribution"]["properties"]) == declared(CONTRIBUTIONS)


def test_the_recurring_section_is_declared_by_its_model(auth_client):
    names = [field.name for field in backed_up_fields(RecurringItem)]
    assert declared(RECURRING) == names
    assert "start_date" in names and "user" not in names
    required = schema_components()["BackupRecurringItemRequest"]["required"]
    assert set(required) == {"kind", "amount", "currency", "description", "frequency", "start_date"}


# --- limits come from the owning apps -------------------------------------------------


@pytest.mark.parametrize(
    ("section", "name", "limit"),
    [
        (CATEGORIES, "name", NAME_MAX_LENGTH),
        (CATEGORIES, "name", Category._meta.get_field("name").max_length),
        (CATEGORIES, "icon", Category._meta.get_field("icon").max_length),
        (TAGS, "name", NAME_MAX_LENGTH),
        (TAGS, "name", Tag._meta.get_field("name").max_length),
        (RULES, "name", Rule._meta.get_field("name").max_length),
        (RULES, "value", REGEX_MAX_LENGTH),
        (EXPENSES, "description", Expense._meta.get_field("description").max_length),
        (EXPENSES, "merchant", Expense._meta.get_field("merchant").max_length),
        (INCOMES, "description", Income._meta.get_field("description").max_length),
        (INCOMES, "source", Income._meta.get_field("source").max_length),
        (GOALS, "name", Goal._meta.get_field("name").max_length),
        (CONTRIBUTIONS, "note", Contribution._meta.get_field("note").max_length),
        (USER, "timezone", User._meta.get_field("timezone").max_length),
        (USER, "first_name", User._meta.get_field("first_name").max_length),
        (USER, "last_name", User._meta.get_field("last_name").max_length),
    ],
    ids=lambda value: getattr(value, "name", str(value)),
)
def test_each_length_limit_is_the_owning_apps(section, name, limit):
    assert section.field(name).max_length == limit


def test_the_other_limits_are_the_owning_apps():
    priority = RULES.field("priority")
    assert (priority.low, priority.high) == (0, PRIORITY_MAX)
    assert priority.default == Rule._meta.get_field("priority").default
    assert CATEGORIES.field("color").pattern == COLOR_PATTERN
    month_start = USER.field("month_start_day")
    assert (month_start.low, month_start.high) == (1, 28)
    threshold = BUDGETS.field("warn_threshold")
    assert threshold.default == Budget._meta.get_field("warn_threshold").default
    assert threshold.places == Budget._meta.get_field("warn_threshold").decimal_places
    base_amount = EXPENSES.field("base_amount")
    assert (base_amount.limit, base_amount.places) == (Decimal("1e20"), AMOUNT_DECIMAL_PLACES)
    rate = EXPENSES.field("exchange_rate")
    assert (rate.limit, rate.places) == (Decimal("1e12"), 12)
    payment_method = Expense._meta.get_field("payment_method")
    assert EXPENSES.field("payment_method").choices == tuple(payment_method.choices)
    assert EXPENSES.field("payment_method").default == payment_method.default


def test_a_declared_limit_is_enforced_on_restore_and_stated_in_the_schema(auth_client):
    doc = export(auth_client)
    doc["categories"] = [{"key": "c1", "name": "x" * (NAME_MAX_LENGTH + 1), "kind": "expense"}]
    doc["rules"] = [
        {
            "name": "r",
            "value": "v",
            "category": {"system": True, "kind": "expense", "name": "Food"},
            "priority": PRIORITY_MAX + 1,
        }
    ]
    response = restore(auth_client, doc)
    assert response.status_code == 400
    assert response.json() == {
        "categories": {
            "0": {"name": [f"Ensure this field has no more than {NAME_MAX_LENGTH} characters."]}
        },
        "rules": {"0": {"priority": [f"Must be between 0 and {PRIORITY_MAX}."]}},
    }
    components = schema_components()
    assert components["BackupCategory"]["properties"]["name"]["maxLength"] == NAME_MAX_LENGTH
    assert components["BackupRule"]["properties"]["priority"]["maximum"] == PRIORITY_MAX


# --- one error path ------------------------------------------------------------------


def test_backup_errors_are_application_errors_answered_by_the_one_handler(user):
    assert issubclass(BackupInvalid, ApplicationError)
    with pytest.raises(ApplicationError) as unknown_mode:
        backup_restore(book=user.personal_book, user=user, document={}, mode="overwrite")  # type: ignore[arg-type]
    assert (unknown_mode.value.field, unknown_mode.value.message) == (
        "mode",
        "Use one of: merge, replace.",
    )
    # The views translate nothing by hand: errors propagate to core.exceptions.
    tree = ast.parse(inspect.getsource(views))
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.Try)]
