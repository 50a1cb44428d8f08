import dataclasses

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from categories import services
from categories.models import Category, Kind, Rule, RuleApplication, Tag
from categories.tasks import rules_apply_task
from categories.tests.factories import CategoryFactory, RuleFactory, TagFactory
from expenses.models import Expense
from income.models import Income
from ledger import services as ledger

pytestmark = pytest.mark.django_db

CATEGORIES = "/api/v1/categories/"
TAGS = "/api/v1/tags/"
RULES = "/api/v1/rules/"
APPLY = "/api/v1/rules/apply/"


def detail(base, obj_or_id):
    return f"{base}{getattr(obj_or_id, 'pk', obj_or_id)}/"


def system(name, kind=Kind.EXPENSE):
    return Category.objects.get(user__isnull=True, kind=kind, name=name)


def names(response):
    return [row["name"] for row in response.json()["results"]]


# --- visibility -----------------------------------------------------------------------


def test_requires_authentication(api_client):
    response = api_client.get(CATEGORIES)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_user_sees_system_and_own_but_not_others(auth_client, user, other_user):
    own = CategoryFactory(user=user, name="Coffee")
    CategoryFactory(user=other_user, name="Secret")
    response = auth_client.get(CATEGORIES, {"page_size": 100})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 16 + 1
    listed = {row["name"]: row for row in body["results"]}
    assert "Secret" not in listed
    assert listed["Coffee"]["id"] == own.pk and listed["Coffee"]["is_system"] is False
    assert listed["Food"]["is_system"] is True
    assert set(listed["Food"]) == {
        "id",
        "name",
        "kind",
        "parent",
        "icon",
        "color",
        "is_system",
        "created_at",
        "updated_at",
    }


def test_default_ordering_is_kind_then_name(auth_client):
    rows = auth_client.get(CATEGORIES, {"page_size": 100}).json()["results"]
    keys = [(row["kind"], row["name"]) for row in rows]
    assert keys == sorted(keys)
    assert rows[0]["kind"] == "expense"


def test_system_category_visible_to_everyone(auth_client, other_client):
    food = system("Food")
    for client in (auth_client, other_client):
        response = client.get(detail(CATEGORIES, food))
        assert response.status_code == 200
        assert response.json()["is_system"] is True


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_other_users_category_is_not_found(auth_client, other_user, method):
    theirs = CategoryFactory(user=other_user, name="Secret")
    body = {"name": "Hacked", "kind": "expense"}
    response = getattr(auth_client, method)(detail(CATEGORIES, theirs), body)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.name == "Secret"


# --- create / update / delete own -----------------------------------------------------


def test_create_update_delete_own_category(auth_client, user):
    response = auth_client.post(
        CATEGORIES, {"name": "  Coffee  ", "kind": "expense", "icon": "cup", "color": "#A0b1C2"}
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Coffee" and body["is_system"] is False and body["parent"] is None
    category = Category.objects.get(pk=body["id"])
    assert category.user == user

    response = auth_client.patch(detail(CATEGORIES, category), {"name": "Cafés", "color": ""})
    assert response.status_code == 200
    assert response.json()["name"] == "Cafés" and response.json()["color"] == ""

    response = auth_client.put(
        detail(CATEGORIES, category), {"name": "Coffee shops", "icon": "mug"}
    )
    assert response.status_code == 200, response.json()
    assert response.json()["icon"] == "mug"

    assert auth_client.delete(detail(CATEGORIES, category)).status_code == 204
    assert not Category.objects.filter(pk=category.pk).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "kind": "expense"}, "name"),
        ({"name": "   ", "kind": "expense"}, "name"),
        ({"name": "x" * 65, "kind": "expense"}, "name"),
        ({"name": "Ok", "kind": "transfer"}, "kind"),
        ({"name": "Ok"}, "kind"),
        ({"name": "Ok", "kind": "expense", "color": "red"}, "color"),
        ({"name": "Ok", "kind": "expense", "color": "#12345"}, "color"),
    ],
)
def test_create_validation(auth_client, user, body, field):
    response = auth_client.post(CATEGORIES, body)
    assert response.status_code == 400
    assert field in response.json()
    assert not Category.objects.filter(user=user).exists()


def test_duplicate_name_in_other_case_is_rejected(auth_client, user):
    CategoryFactory(user=user, name="Coffee")
    response = auth_client.post(CATEGORIES, {"name": "COFFEE", "kind": "expense"})
    assert response.status_code == 400
    assert "name" in response.json()
    assert Category.objects.filter(user=user).count() == 1


def test_rename_to_existing_name_is_rejected(auth_client, user):
    CategoryFactory(user=user, name="Coffee")
    tea = CategoryFactory(user=user, name="Tea")
    response = auth_client.patch(detail(CATEGORIES, tea), {"name": "coffee"})
    assert response.status_code == 400 and "name" in response.json()
    # Renaming to itself in another case is fine.
    assert auth_client.patch(detail(CATEGORIES, tea), {"name": "TEA"}).status_code == 200


def test_custom_name_may_not_repeat_a_system_name_of_the_same_kind(auth_client, user):
    response = auth_client.post(CATEGORIES, {"name": "food", "kind": "expense"})
    assert response.status_code == 400
    assert "system" in response.json()["name"][0]
    # "Salary" is an income system category; as an expense name it is free.
    response = auth_client.post(CATEGORIES, {"name": "salary", "kind": "expense"})
    assert response.status_code == 201


def test_same_name_allowed_for_the_other_kind_and_for_other_users(auth_client, other_client, user):
    assert auth_client.post(CATEGORIES, {"name": "Side", "kind": "expense"}).status_code == 201
    assert auth_client.post(CATEGORIES, {"name": "side", "kind": "income"}).status_code == 201
    assert other_client.post(CATEGORIES, {"name": "Side", "kind": "expense"}).status_code == 201


def test_kind_cannot_change(auth_client, user):
    category = CategoryFactory(user=user, kind=Kind.EXPENSE)
    response = auth_client.patch(detail(CATEGORIES, category), {"kind": "income"})
    assert response.status_code == 400
    assert "cannot be changed" in response.json()["kind"][0]
    category.refresh_from_db()
    assert category.kind == Kind.EXPENSE
    # Sending the unchanged kind is fine.
    assert auth_client.patch(detail(CATEGORIES, category), {"kind": "expense"}).status_code == 200


# --- parents --------------------------------------------------------------------------


def test_parent_of_same_kind_own_or_system(auth_client, user):
    own_parent = CategoryFactory(user=user)
    response = auth_client.post(
        CATEGORIES, {"name": "Espresso", "kind": "expense", "parent": own_parent.pk}
    )
    assert response.status_code == 201 and response.json()["parent"] == own_parent.pk
    food = system("Food")
    response = auth_client.post(CATEGORIES, {"name": "Pizza", "kind": "expense", "parent": food.pk})
    assert response.status_code == 201 and response.json()["parent"] == food.pk


def test_parent_rules(auth_client, user, other_user):
    income_parent = CategoryFactory(user=user, kind=Kind.INCOME)
    top = CategoryFactory(user=user)
    child = CategoryFactory(user=user, parent=top)
    theirs = CategoryFactory(user=other_user)
    for parent in (income_parent.pk, child.pk, theirs.pk, 999999, "abc"):
        response = auth_client.post(
            CATEGORIES, {"name": "Nested", "kind": "expense", "parent": parent}
        )
        assert response.status_code == 400, parent
        assert "parent" in response.json()
    assert not Category.objects.filter(name="Nested").exists()


def test_parent_cannot_be_self_and_a_parent_cannot_be_nested(auth_client, user):
    top = CategoryFactory(user=user)
    CategoryFactory(user=user, parent=top)
    other_top = CategoryFactory(user=user)
    response = auth_client.patch(detail(CATEGORIES, other_top), {"parent": other_top.pk})
    assert response.status_code == 400 and "parent" in response.json()
    response = auth_client.patch(detail(CATEGORIES, top), {"parent": other_top.pk})
    assert response.status_code == 400
    assert "subcategories" in response.json()["parent"][0]
    top.refresh_from_db()
    assert top.parent is None


def test_parent_can_be_cleared(auth_client, user):
    top = CategoryFactory(user=user)
    child = CategoryFactory(user=user, parent=top)
    response = auth_client.patch(detail(CATEGORIES, child), {"parent": None})
    assert response.status_code == 200 and response.json()["parent"] is None


# --- system categories and roles ------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_non_admin_cannot_modify_system_category(auth_client, method):
    food = system("Food")
    response = getattr(auth_client, method)(
        detail(CATEGORIES, food), {"name": "Mine now", "kind": "expense"}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    food.refresh_from_db()
    assert food.name == "Food" and food.user is None


def test_non_admin_is_system_flag_is_ignored(auth_client, user):
    response = auth_client.post(CATEGORIES, {"name": "Pets", "kind": "expense", "is_system": True})
    assert response.status_code == 201
    assert response.json()["is_system"] is False
    assert Category.objects.get(pk=response.json()["id"]).user == user


def test_admin_creates_and_edits_system_categories(admin_api, admin_member, other_client):
    response = admin_api.post(CATEGORIES, {"name": "Pets", "kind": "expense", "is_system": True})
    assert response.status_code == 201
    assert response.json()["is_system"] is True
    pets = Category.objects.get(pk=response.json()["id"])
    assert pets.user is None
    # Every user sees it.
    assert other_client.get(detail(CATEGORIES, pets)).status_code == 200

    response = admin_api.patch(detail(CATEGORIES, system("Food")), {"name": "Food & drink"})
    assert response.status_code == 200
    assert system("Food & drink").user is None
    # An admin without is_system creates an ordinary own category.
    response = admin_api.post(CATEGORIES, {"name": "Hobby", "kind": "expense"})
    assert response.json()["is_system"] is False
    assert Category.objects.get(pk=response.json()["id"]).user == admin_member


def test_admin_system_name_must_be_unique_among_system_names(admin_api, user):
    CategoryFactory(user=user, name="Pets")  # a user's own name does not block it
    response = admin_api.post(CATEGORIES, {"name": "RENT", "kind": "expense", "is_system": True})
    assert response.status_code == 400 and "name" in response.json()
    response = admin_api.post(CATEGORIES, {"name": "Pets", "kind": "expense", "is_system": True})
    assert response.status_code == 201


def test_admin_system_category_needs_a_system_parent(admin_api, admin_member):
    own = CategoryFactory(user=admin_member)
    response = admin_api.post(
        CATEGORIES, {"name": "Vet", "kind": "expense", "is_system": True, "parent": own.pk}
    )
    assert response.status_code == 400 and "parent" in response.json()


def test_admin_deletes_unused_system_category(admin_api):
    travel = system("Travel")
    assert admin_api.delete(detail(CATEGORIES, travel)).status_code == 204
    assert not Category.objects.filter(pk=travel.pk).exists()


# --- delete in use / reassign ---------------------------------------------------------


def test_delete_in_use_is_409_and_unchanged(auth_client, user, make_expense):
    category = CategoryFactory(user=user, name="Coffee")
    expense = make_expense(user, category)
    response = auth_client.delete(detail(CATEGORIES, category))
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "category_in_use"
    assert "1 expense" in body["detail"]
    assert Category.objects.filter(pk=category.pk).exists()
    expense.refresh_from_db()
    assert expense.category == category


def test_delete_in_use_by_income_is_409(auth_client, user, make_income):
    category = CategoryFactory(user=user, kind=Kind.INCOME)
    make_income(user, category)
    response = auth_client.delete(detail(CATEGORIES, category))
    assert response.status_code == 409
    assert "income" in response.json()["detail"]


def test_delete_with_reassign_moves_records(auth_client, user, make_expense):
    category = CategoryFactory(user=user, name="Coffee")
    expense = make_expense(user, category)
    food = system("Food")
    response = auth_client.delete(f"{detail(CATEGORIES, category)}?reassign_to={food.pk}")
    assert response.status_code == 204
    assert not Category.objects.filter(pk=category.pk).exists()
    expense.refresh_from_db()
    assert expense.category == food


@pytest.mark.parametrize("target", ["other_kind", "other_user", "self", "missing", "abc", "0"])
def test_delete_with_bad_reassign_to_is_400(auth_client, user, other_user, make_expense, target):
    category = CategoryFactory(user=user)
    expense = make_expense(user, category)
    value = {
        "other_kind": lambda: system("Salary", Kind.INCOME).pk,
        "other_user": lambda: CategoryFactory(user=other_user).pk,
        "self": lambda: category.pk,
        "missing": lambda: 999999,
        "abc": lambda: "abc",
        "0": lambda: 0,
    }[target]()
    response = auth_client.delete(f"{detail(CATEGORIES, category)}?reassign_to={value}")
    assert response.status_code == 400
    assert "reassign_to" in response.json()
    expense.refresh_from_db()
    assert expense.category == category


def test_deleting_a_parent_makes_children_top_level(auth_client, user):
    top = CategoryFactory(user=user)
    child = CategoryFactory(user=user, parent=top)
    assert auth_client.delete(detail(CATEGORIES, top)).status_code == 204
    child.refresh_from_db()
    assert child.parent is None


# --- filters, search, ordering --------------------------------------------------------


def test_filter_by_kind(auth_client):
    response = auth_client.get(CATEGORIES, {"kind": "income"})
    assert sorted(names(response)) == ["Freelance", "Gifts", "Investments", "Other", "Salary"]


def test_filter_is_system(auth_client, user):
    CategoryFactory(user=user, name="Coffee")
    assert names(auth_client.get(CATEGORIES, {"is_system": "false"})) == ["Coffee"]
    response = auth_client.get(CATEGORIES, {"is_system": "true", "page_size": 100})
    assert response.json()["count"] == 16
    assert all(row["is_system"] for row in response.json()["results"])


def test_filter_top_level(auth_client, user):
    top = CategoryFactory(user=user, name="Drinks")
    CategoryFactory(user=user, name="Coffee", parent=top)
    assert names(auth_client.get(CATEGORIES, {"top_level": "false"})) == ["Coffee"]


def test_search_by_name(auth_client, user):
    CategoryFactory(user=user, name="Foodtrucks")
    response = auth_client.get(CATEGORIES, {"search": "FOOD"})
    assert sorted(names(response)) == ["Food", "Foodtrucks"]


def test_ordering(auth_client):
    rows = auth_client.get(CATEGORIES, {"ordering": "-name", "page_size": 100}).json()["results"]
    assert [r["name"] for r in rows] == sorted((r["name"] for r in rows), reverse=True)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "transfer"}, "kind"),
        ({"is_system": "maybe"}, "is_system"),
        ({"top_level": "2"}, "top_level"),
        ({"ordering": "user"}, "ordering"),
        ({"page_size": "x"}, "page_size"),
    ],
)
def test_bad_filter_values_are_400(auth_client, params, field):
    response = auth_client.get(CATEGORIES, params)
    assert response.status_code == 400
    assert field in response.json()


def _list_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, {"page_size": 500})
    assert response.status_code == 200
    return len(ctx.captured_queries), response.json()["count"]


def test_category_list_query_count_is_constant(auth_client, user):
    parent = CategoryFactory(user=user)
    CategoryFactory.create_batch(2, user=user, parent=parent)
    few, few_count = _list_queries(auth_client, CATEGORIES)
    CategoryFactory.create_batch(27, user=user, parent=parent)
    many, many_count = _list_queries(auth_client, CATEGORIES)
    assert many_count == few_count + 27
    assert many == few


def test_tag_list_query_count_is_constant(auth_client, user):
    TagFactory.create_batch(3, user=user)
    few, _ = _list_queries(auth_client, TAGS)
    TagFactory.create_batch(27, user=user)
    many, count = _list_queries(auth_client, TAGS)
    assert count == 30 and many == few


def test_rule_list_query_count_is_constant(auth_client, user):
    tags = TagFactory.create_batch(2, user=user)
    RuleFactory.create_batch(3, user=user, add_tags=tags)
    few, _ = _list_queries(auth_client, RULES)
    RuleFactory.create_batch(27, user=user, add_tags=tags)
    many, count = _list_queries(auth_client, RULES)
    assert count == 30 and many == few


# --- tags -----------------------------------------------------------------------------


def test_tags_crud(auth_client, user):
    response = auth_client.post(TAGS, {"name": "  Coffee "})
    assert response.status_code == 201
    assert response.json() == {"id": response.json()["id"], "name": "Coffee"}
    tag_id = response.json()["id"]
    assert auth_client.get(TAGS).json()["results"] == [{"id": tag_id, "name": "Coffee"}]
    response = auth_client.patch(detail(TAGS, tag_id), {"name": "Caffeine"})
    assert response.status_code == 200 and response.json()["name"] == "Caffeine"
    response = auth_client.put(detail(TAGS, tag_id), {"name": "Beans"})
    assert response.status_code == 200 and Tag.objects.get(pk=tag_id).name == "Beans"
    assert auth_client.delete(detail(TAGS, tag_id)).status_code == 204
    assert not Tag.objects.filter(user=user).exists()


def test_tag_names_unique_case_insensitively_per_user(auth_client, other_client, user):
    TagFactory(user=user, name="Coffee")
    response = auth_client.post(TAGS, {"name": "COFFEE"})
    assert response.status_code == 400 and "name" in response.json()
    assert other_client.post(TAGS, {"name": "coffee"}).status_code == 201
    tea = TagFactory(user=user, name="Tea")
    assert auth_client.patch(detail(TAGS, tea), {"name": "coffee"}).status_code == 400
    assert auth_client.patch(detail(TAGS, tea), {"name": "TEA"}).status_code == 200


@pytest.mark.parametrize("name", ["", "  ", "x" * 65])
def test_tag_name_validation(auth_client, name):
    response = auth_client.post(TAGS, {"name": name})
    assert response.status_code == 400 and "name" in response.json()


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_other_users_tag_is_not_found(auth_client, other_user, method):
    theirs = TagFactory(user=other_user, name="secret")
    response = getattr(auth_client, method)(detail(TAGS, theirs), {"name": "mine"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "secret"


def test_tag_list_is_own_only(auth_client, user, other_user):
    TagFactory(user=user, name="mine")
    TagFactory(user=other_user, name="theirs")
    assert names(auth_client.get(TAGS)) == ["mine"]


# --- rules ----------------------------------------------------------------------------


def rule_body(category, **overrides):
    body = {
        "name": "Coffee",
        "field": "any",
        "operator": "contains",
        "value": "coffee",
        "category": category.pk,
    }
    body.update(overrides)
    return body


def test_rule_crud_with_tag_names(auth_client, user):
    TagFactory(user=user, name="Caffeine")
    category = CategoryFactory(user=user)
    response = auth_client.post(
        RULES, rule_body(category, add_tags=["caffeine", "morning", "Morning"])
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["add_tags"] == ["Caffeine", "morning"]
    assert (body["priority"], body["active"], body["case_sensitive"]) == (100, True, False)
    assert Tag.objects.filter(user=user).count() == 2
    rule = Rule.objects.get(pk=body["id"])
    assert rule.user == user

    response = auth_client.patch(detail(RULES, rule), {"add_tags": ["evening"], "priority": 5})
    assert response.status_code == 200
    assert response.json()["add_tags"] == ["evening"] and response.json()["priority"] == 5

    response = auth_client.patch(detail(RULES, rule), {"active": False})
    assert response.json()["add_tags"] == ["evening"]  # untouched when not sent

    food = system("Food")
    response = auth_client.put(detail(RULES, rule), rule_body(food, value="  latte  "))
    assert response.status_code == 200
    assert response.json()["category"] == food.pk and response.json()["value"] == "latte"

    assert auth_client.get(RULES).json()["results"][0]["id"] == rule.pk
    assert auth_client.delete(detail(RULES, rule)).status_code == 204
    assert not Rule.objects.filter(pk=rule.pk).exists()


def test_rule_with_other_users_category_is_400(auth_client, user, other_user):
    theirs = CategoryFactory(user=other_user)
    response = auth_client.post(RULES, rule_body(theirs))
    assert response.status_code == 400 and "category" in response.json()
    assert not Rule.objects.exists()


def test_invalid_regex_is_400(auth_client, user):
    category = CategoryFactory(user=user)
    response = auth_client.post(RULES, rule_body(category, operator="regex", value="(unclosed"))
    assert response.status_code == 400
    assert "value" in response.json()
    rule = RuleFactory(user=user, value="(unclosed")  # fine as plain text
    response = auth_client.patch(detail(RULES, rule), {"operator": "regex"})
    assert response.status_code == 400 and "value" in response.json()
    rule.refresh_from_db()
    assert rule.operator == "contains"


def test_too_long_regex_is_400(auth_client, user):
    category = CategoryFactory(user=user)
    response = auth_client.post(RULES, rule_body(category, operator="regex", value="a" * 201))
    assert response.status_code == 400 and "value" in response.json()
    response = auth_client.post(RULES, rule_body(category, operator="regex", value="a" * 200))
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"value": "   "}, "value"),
        ({"field": "notes"}, "field"),
        ({"operator": "fuzzy"}, "operator"),
        ({"priority": -1}, "priority"),
        ({"add_tags": ["ok", ""]}, "add_tags"),
        ({"add_tags": ["x" * 65]}, "add_tags"),
        ({"add_tags": "coffee"}, "add_tags"),
    ],
)
def test_rule_validation(auth_client, user, overrides, field):
    response = auth_client.post(RULES, rule_body(CategoryFactory(user=user), **overrides))
    assert response.status_code == 400
    assert field in response.json()
    assert not Tag.objects.filter(user=user).exists()


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_other_users_rule_is_not_found(auth_client, user, other_user, method):
    theirs = RuleFactory(user=other_user, value="secret")
    body = rule_body(CategoryFactory(user=user), value="mine")
    response = getattr(auth_client, method)(detail(RULES, theirs), body)
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.value == "secret"


def test_rule_filters(auth_client, user):
    RuleFactory(user=user, name="on", active=True)
    RuleFactory(user=user, name="off", active=False)
    assert names(auth_client.get(RULES, {"active": "false"})) == ["off"]
    assert auth_client.get(RULES, {"active": "perhaps"}).status_code == 400


# --- rules/apply ----------------------------------------------------------------------


def test_rules_apply_calls_both_apps_and_sums(auth_client, user, monkeypatch):
    """Expenses and income declare themselves (`register_rule_target`, from their
    AppConfig.ready()); categories runs whatever is registered, in INSTALLED_APPS order."""
    calls = []

    def fake(label, result):
        def apply(*, book, only_uncategorized):
            calls.append((label, book.pk, only_uncategorized))
            return result

        return apply

    targets = services.rule_targets()
    assert [(t.key, t.model, t.apply.__module__) for t in targets] == [
        ("expenses", Expense, "expenses.services"),
        ("incomes", Income, "income.services"),
    ]
    monkeypatch.setattr(
        services,
        "_rule_targets",
        {
            "expenses": dataclasses.replace(targets[0], apply=fake("expenses", 3)),
            "incomes": dataclasses.replace(targets[1], apply=fake("incomes", 2)),
        },
    )

    response = auth_client.post(APPLY, {})
    assert response.status_code == 200
    assert response.json() == {"changed": 5, "expenses": 3, "incomes": 2}
    book = user.personal_book.pk
    assert calls == [("expenses", book, True), ("incomes", book, True)]

    calls.clear()
    auth_client.post(APPLY, {"only_uncategorized": False})
    assert calls == [("expenses", book, False), ("incomes", book, False)]


def test_rules_apply_rejects_bad_input(auth_client):
    response = auth_client.post(APPLY, {"only_uncategorized": "perhaps"})
    assert response.status_code == 400 and "only_uncategorized" in response.json()


def test_rules_apply_requires_authentication(api_client):
    assert api_client.post(APPLY, {}).status_code == 401


def test_rules_apply_categorises_stored_records(
    auth_client, user, other_user, make_expense, make_income
):
    coffee = CategoryFactory(user=user, name="Coffee")
    salary = system("Salary", Kind.INCOME)
    tag = TagFactory(user=user, name="caffeine")
    RuleFactory(user=user, value="starbucks", category=coffee, add_tags=[tag])
    RuleFactory(user=user, value="acme payroll", category=salary)
    matching = make_expense(user, description="STARBUCKS #12")
    other = make_expense(user, description="Rent")
    already = make_expense(user, category=system("Food"), description="starbucks")
    pay = make_income(user, description="ACME Payroll March")
    theirs = make_expense(other_user, description="starbucks")

    response = auth_client.post(APPLY, {"only_uncategorized": True})
    assert response.status_code == 200
    assert response.json() == {"changed": 2, "expenses": 1, "incomes": 1}
    for record in (matching, other, already, pay, theirs):
        record.refresh_from_db()
    assert matching.category == coffee
    assert list(matching.tags.all()) == [tag]
    assert other.category is None
    assert already.category == system("Food")
    assert pay.category == salary
    assert theirs.category is None

    response = auth_client.post(APPLY, {"only_uncategorized": False})
    assert response.status_code == 200
    already.refresh_from_db()
    assert already.category == coffee


# --- work caps --------------------------------------------------------------------------


def test_rule_cap_is_a_409_naming_the_limit(auth_client, user, settings):
    settings.RULES_MAX_PER_USER = 2
    category = CategoryFactory(user=user)
    RuleFactory.create_batch(2, user=user, category=category)
    body = {"name": "one more", "value": "x", "category": category.pk}
    response = auth_client.post(RULES, body, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "rule_limit_reached"
    assert "at most 2 rules" in response.json()["detail"]
    assert Rule.objects.filter(user=user).count() == 2


def test_too_many_tags_on_one_expense_is_400_naming_tags(auth_client, user, settings):
    settings.TAGS_MAX_PER_RECORD = 5
    body = {
        "amount": "1.00",
        "date": "2026-01-01",
        "description": "x",
        "tags": [f"t{i}" for i in range(20_000)],
    }
    response = auth_client.post("/api/v1/expenses/", body, format="json")
    assert response.status_code == 400
    assert response.json()["tags"] == ["At most 5 tags per record."]
    assert not Tag.objects.filter(user=user).exists()


def test_tag_cap_per_user_is_400(auth_client, user, settings):
    settings.TAGS_MAX_PER_USER = 2
    TagFactory.create_batch(2, user=user)
    response = auth_client.post(TAGS, {"name": "third"}, format="json")
    assert response.status_code == 400 and "at most 2 tags" in response.json()["name"][0]
    body = {"amount": "1.00", "date": "2026-01-01", "description": "x", "tags": ["new"]}
    response = auth_client.post("/api/v1/expenses/", body, format="json")
    assert response.status_code == 400 and "tags" in response.json()


# --- rules/apply on the task queue -------------------------------------------------------


@pytest.fixture
def big_run(user, settings, make_expense):
    """Three uncategorised coffee expenses and a rule, with the sync threshold at 2."""
    settings.RULES_APPLY_SYNC_MAX_RECORDS = 2
    coffee = CategoryFactory(user=user, name="Coffee")
    RuleFactory(user=user, value="coffee", category=coffee)
    records = [make_expense(user, description="coffee") for _ in range(3)]
    return coffee, records


def test_large_apply_is_queued_and_polled(
    auth_client, other_client, big_run, django_capture_on_commit_callbacks
):
    coffee, records = big_run
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(APPLY, {"only_uncategorized": True}, format="json")
    assert response.status_code == 202
    queued = response.json()
    # The commit (and so the eager task) happens as the capture block closes.
    assert queued["status"] == "queued" and queued["candidates"] == 3
    for record in records:
        record.refresh_from_db()
        assert record.category == coffee

    polled = auth_client.get(f"{APPLY}{queued['id']}/")
    assert polled.status_code == 200
    body = polled.json()
    assert body["id"] == queued["id"] and body["status"] == "done"
    assert (body["changed"], body["expenses"], body["incomes"]) == (3, 3, 0)
    assert body["finished_at"] is not None
    assert other_client.get(f"{APPLY}{body['id']}/").status_code == 404
    assert auth_client.get(f"{APPLY}abc/").status_code == 404


def test_queued_apply_runs_once_when_the_worker_picks_it_up(
    auth_client, big_run, django_capture_on_commit_callbacks
):
    _coffee, records = big_run
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = auth_client.post(APPLY, {}, format="json")
    assert response.status_code == 202 and response.json()["status"] == "queued"
    assert len(callbacks) == 1
    records[0].refresh_from_db()
    assert records[0].category is None  # nothing happens until the worker runs

    application_id = response.json()["id"]
    rules_apply_task.delay(application_id)
    rules_apply_task.delay(application_id)  # a second delivery is a no-op
    application = RuleApplication.objects.get(pk=application_id)
    assert (application.status, application.changed) == ("done", 3)
    assert application.started_at and application.finished_at


def test_failed_apply_is_reported_and_changes_nothing(
    auth_client, big_run, monkeypatch, django_capture_on_commit_callbacks
):
    _coffee, records = big_run

    def fail_after_writing(**kwargs):
        Category.objects.filter(book=kwargs["book"]).update(color="#000000")
        raise RuntimeError("boom")

    monkeypatch.setattr(ledger, "transactions_apply_rules", fail_after_writing)
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(APPLY, {}, format="json")
    assert response.status_code == 202
    polled = auth_client.get(f"{APPLY}{response.json()['id']}/").json()
    assert polled["status"] == "failed" and "changed nothing" in polled["error"]
    assert not Category.objects.filter(color="#000000").exists()
    records[0].refresh_from_db()
    assert records[0].category is None


def test_small_apply_stays_synchronous(auth_client, big_run, settings):
    settings.RULES_APPLY_SYNC_MAX_RECORDS = 3
    response = auth_client.post(APPLY, {}, format="json")
    assert response.status_code == 200
    assert response.json() == {"changed": 3, "expenses": 3, "incomes": 0}
