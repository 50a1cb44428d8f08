import logging
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from categories import services
from categories.models import Category, Kind, Rule, RuleField, RuleOperator, Tag
from categories.tests.factories import CategoryFactory, RuleFactory, TagFactory
from core.exceptions import ConflictError
from expenses.services import expenses_apply_rules
from tests.concurrency import require_postgresql, run_concurrently
from tests.fuzz_depth import examples
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

EXPENSE_SYSTEM = [
    "Education",
    "Entertainment",
    "Food",
    "Groceries",
    "Healthcare",
    "Other",
    "Rent",
    "Shopping",
    "Transport",
    "Travel",
    "Utilities",
]
INCOME_SYSTEM = ["Freelance", "Gifts", "Investments", "Other", "Salary"]


def system(name, kind=Kind.EXPENSE):
    return Category.objects.get(user__isnull=True, kind=kind, name=name)


# --- system categories and categories -------------------------------------------------


def test_system_categories_are_seeded_without_owner():
    seeded = Category.objects.filter(user__isnull=True)
    assert sorted(seeded.filter(kind=Kind.EXPENSE).values_list("name", flat=True)) == (
        EXPENSE_SYSTEM
    )
    assert sorted(seeded.filter(kind=Kind.INCOME).values_list("name", flat=True)) == (INCOME_SYSTEM)


def test_seed_migration_is_idempotent():
    from importlib import import_module

    from django.apps import apps

    seed = import_module("categories.migrations.0002_system_categories").seed_system_categories
    before = Category.objects.count()
    seed(apps, None)
    seed(apps, None)
    assert Category.objects.count() == before


def test_category_create_owned_and_system(user):
    own = services.category_create(user=user, data={"name": "Coffee", "kind": Kind.EXPENSE})
    assert own.user == user and not own.is_system
    shared = services.category_create(
        user=user, data={"name": "Pets", "kind": Kind.EXPENSE}, as_system=True
    )
    assert shared.user is None and shared.is_system


def test_category_create_duplicate_name_is_a_validation_error_on_name(user):
    CategoryFactory(user=user, name="Coffee")
    with pytest.raises(ValidationError) as exc:
        services.category_create(user=user, data={"name": "COFFEE", "kind": Kind.EXPENSE})
    assert "name" in exc.value.message_dict
    assert Category.objects.filter(user=user).count() == 1


def test_category_update_changes_fields_but_not_owner(user):
    category = CategoryFactory(user=user, name="Coffee")
    services.category_update(category=category, data={"name": "Cafés", "color": "#112233"})
    category.refresh_from_db()
    assert (category.name, category.color, category.user) == ("Cafés", "#112233", user)


def test_delete_unused_category_makes_children_top_level(user):
    parent = CategoryFactory(user=user)
    child = CategoryFactory(user=user, parent=parent)
    services.category_delete(category=parent)
    assert not Category.objects.filter(pk=parent.pk).exists()
    child.refresh_from_db()
    assert child.parent is None


def test_protected_relations_include_expenses_and_income():
    labels = {rel.related_model._meta.label for rel in services.protected_relations()}
    assert {"expenses.Expense", "income.Income"} <= labels


def test_delete_category_in_use_is_a_conflict_and_changes_nothing(user, make_expense):
    category = CategoryFactory(user=user, name="Coffee")
    make_expense(user, category)
    make_expense(user, category)
    with pytest.raises(ConflictError) as exc:
        services.category_delete(category=category)
    assert exc.value.code == "category_in_use"
    assert exc.value.status_code == 409
    assert "2 expenses" in exc.value.message
    assert Category.objects.filter(pk=category.pk).exists()


def test_delete_with_reassign_moves_records_and_rules(user, make_expense, make_income):
    old = CategoryFactory(user=user, name="Coffee")
    new = CategoryFactory(user=user, name="Drinks")
    expense = make_expense(user, old)
    rule = RuleFactory(user=user, category=old)
    services.category_delete(category=old, reassign_to=new)
    expense.refresh_from_db()
    rule.refresh_from_db()
    assert expense.category == new
    assert rule.category == new
    assert not Category.objects.filter(pk=old.pk).exists()


def test_reassign_failure_rolls_everything_back(user, make_expense, monkeypatch):
    old = CategoryFactory(user=user)
    new = CategoryFactory(user=user)
    expense = make_expense(user, old)

    def broken_delete(self, *args, **kwargs):
        raise IntegrityError("simulated constraint violation")

    monkeypatch.setattr(Category, "delete", broken_delete)
    with pytest.raises(ConflictError) as exc:
        services.category_delete(category=old, reassign_to=new)
    assert exc.value.code == "reassign_conflict"
    expense.refresh_from_db()
    assert expense.category == old
    assert Category.objects.filter(pk=old.pk).exists()


@pytest.mark.parametrize("target", ["self", "other_kind", "other_user"])
def test_reassign_target_must_fit(user, other_user, make_expense, target):
    old = CategoryFactory(user=user)
    make_expense(user, old)
    reassign_to = {
        "self": old,
        "other_kind": CategoryFactory(user=user, kind=Kind.INCOME),
        "other_user": CategoryFactory(user=other_user),
    }[target]
    with pytest.raises(ValidationError) as exc:
        services.category_delete(category=old, reassign_to=reassign_to)
    assert "reassign_to" in exc.value.message_dict
    assert Category.objects.filter(pk=old.pk).exists()


def test_system_category_records_only_move_to_a_system_category(user, make_expense):
    food = system("Food")
    make_expense(user, food)
    with pytest.raises(ValidationError):
        services.category_delete(category=food, reassign_to=CategoryFactory(user=user))
    services.category_delete(category=food, reassign_to=system("Groceries"))
    assert not Category.objects.filter(pk=food.pk).exists()


# --- tags -----------------------------------------------------------------------------


def test_tags_resolve_reuses_case_insensitively_and_creates_the_rest(user, other_user):
    coffee = TagFactory(user=user, name="Coffee")
    TagFactory(user=other_user, name="work")
    tags = services.tags_resolve(user=user, names=["  coffee ", "Work", "COFFEE", "work"])
    assert [t.name for t in tags] == ["Coffee", "Work"]
    assert tags[0].pk == coffee.pk
    assert tags[1].user == user
    assert Tag.objects.filter(user=user).count() == 2
    assert Tag.objects.filter(user=other_user).count() == 1


def test_tags_resolve_empty_list():
    assert services.tags_resolve(user=None, names=[]) == []


@pytest.mark.parametrize("bad", ["", "   ", "x" * 65])
def test_tags_resolve_rejects_bad_names(user, bad):
    with pytest.raises(ValidationError) as exc:
        services.tags_resolve(user=user, names=["fine", bad])
    assert "tags" in exc.value.message_dict
    assert not Tag.objects.filter(user=user).exists()


def test_tags_resolve_survives_a_concurrent_creation(user, monkeypatch):
    # Another request committed "COFFEE" after this one looked for existing tags.
    TagFactory(user=user, name="COFFEE")
    monkeypatch.setattr(services, "_tags_existing", lambda user, names: {})
    [tag] = services.tags_resolve(user=user, names=["coffee"])
    assert tag.name == "COFFEE"
    assert Tag.objects.filter(user=user).count() == 1


# --- rules ----------------------------------------------------------------------------


def match(user, description, merchant="", kind=Kind.EXPENSE):
    return services.rules_match(
        book=user.personal_book, kind=kind, description=description, merchant=merchant
    )


@pytest.mark.parametrize(
    ("operator", "value", "text", "matches"),
    [
        (RuleOperator.CONTAINS, "coffee", "Morning coffee at Joe's", True),
        (RuleOperator.CONTAINS, "coffee", "Morning tea", False),
        (RuleOperator.EQUALS, "netflix", "Netflix", True),
        (RuleOperator.EQUALS, "netflix", "Netflix subscription", False),
        (RuleOperator.STARTS_WITH, "uber", "UBER *TRIP 123", True),
        (RuleOperator.STARTS_WITH, "uber", "Paid uber", False),
        (RuleOperator.REGEX, r"^amzn\s+mktp", "AMZN  Mktp DE", True),
        (RuleOperator.REGEX, r"^amzn\s+mktp", "Refund AMZN Mktp", False),
    ],
)
def test_rule_operators(user, operator, value, text, matches):
    rule = RuleFactory(user=user, operator=operator, value=value, field=RuleField.DESCRIPTION)
    category, _ = match(user, text)
    assert (category == rule.category) is matches


@pytest.mark.parametrize(
    ("field", "description", "merchant", "matches"),
    [
        (RuleField.DESCRIPTION, "coffee", "", True),
        (RuleField.DESCRIPTION, "card payment", "Coffee Shop", False),
        (RuleField.MERCHANT, "card payment", "Coffee Shop", True),
        (RuleField.MERCHANT, "coffee", "", False),
        (RuleField.ANY, "coffee", "", True),
        (RuleField.ANY, "card payment", "Coffee Shop", True),
        (RuleField.ANY, "card payment", "Bakery", False),
    ],
)
def test_rule_fields(user, field, description, merchant, matches):
    rule = RuleFactory(user=user, field=field, value="coffee")
    category, _ = match(user, description, merchant)
    assert (category == rule.category) is matches


@pytest.mark.parametrize("operator", list(RuleOperator))
def test_case_sensitivity(user, operator):
    rule = RuleFactory(user=user, operator=operator, value="Straße", case_sensitive=True)
    assert match(user, "Straße")[0] == rule.category
    assert match(user, "STRASSE")[0] is None
    rule.case_sensitive = False
    rule.save()
    assert match(user, "STRASSE")[0] == rule.category  # casefold: ß == ss
    assert match(user, "straße")[0] == rule.category


def test_priority_then_age_decides_and_tags_come_with_the_rule(user):
    tag = TagFactory(user=user, name="caffeine")
    late = RuleFactory(user=user, value="coffee", priority=50)
    first = RuleFactory(user=user, value="coffee", priority=10, add_tags=[tag])
    newer = RuleFactory(user=user, value="coffee", priority=10)  # same priority, newer
    category, tags = match(user, "coffee")
    assert category == first.category
    assert tags == [tag]
    first.delete()
    assert match(user, "coffee") == (newer.category, [])
    newer.delete()
    assert match(user, "coffee") == (late.category, [])


def test_inactive_other_kind_and_other_users_rules_are_ignored(user, other_user):
    RuleFactory(user=user, value="coffee", active=False, priority=1)
    RuleFactory(
        user=user, value="coffee", priority=2, category=CategoryFactory(user=user, kind="income")
    )
    RuleFactory(user=other_user, value="coffee", priority=0)
    expected = RuleFactory(user=user, value="coffee", priority=3)
    assert match(user, "coffee")[0] == expected.category
    assert match(user, "coffee", kind=Kind.INCOME)[0] == Rule.objects.get(priority=2).category


def test_no_match_returns_none_and_no_tags(user):
    RuleFactory(user=user, value="coffee", add_tags=[TagFactory(user=user)])
    assert match(user, "rent") == (None, [])


def test_rule_on_a_system_category(user):
    food = system("Food")
    RuleFactory(user=user, value="pizza", category=food)
    assert match(user, "Pizza Hut")[0] == food


@pytest.mark.parametrize(
    ("pattern", "text"),
    [(r"(a+)+$", "a" * 50 + "b"), (r"(a|aa)+$", "a" * 40 + "b"), (r"(a+)+$", "a" * 5000 + "b")],
)
def test_catastrophic_regex_returns_promptly_as_no_match(user, pattern, text, caplog):
    RuleFactory(user=user, operator=RuleOperator.REGEX, value=pattern)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        assert match(user, text) == (None, [])
    assert time.monotonic() - started < 2


def test_regex_timeout_is_logged(user, caplog):
    RuleFactory(user=user, operator=RuleOperator.REGEX, value=r"(a|aa)+$")
    with caplog.at_level(logging.WARNING, logger="categories.services"):
        assert match(user, "a" * 40 + "b") == (None, [])
    assert "timed out" in caplog.text


def test_rules_for_loads_once_and_matches_without_queries(
    user, django_assert_num_queries, django_assert_max_num_queries
):
    for n in range(10):
        RuleFactory(user=user, value=f"shop{n}", add_tags=[TagFactory(user=user)])
    book = user.personal_book
    with django_assert_max_num_queries(2):
        matcher = services.rules_for(book=book)
    assert len(matcher) == 10
    with django_assert_num_queries(0):
        for n in range(10):
            category, tags = matcher.match(kind=Kind.EXPENSE, description=f"shop{n}")
            assert category is not None and len(tags) == 1


def test_stored_invalid_regex_is_skipped(user):
    Rule.objects.create(
        user=user,
        name="broken",
        operator=RuleOperator.REGEX,
        value="(unclosed",
        category=CategoryFactory(user=user),
    )
    good = RuleFactory(user=user, value="unclosed", priority=200)
    assert match(user, "(unclosed")[0] == good.category


def test_rule_validate_pattern():
    services.rule_validate_pattern(r"^coffee\b", RuleOperator.REGEX)
    services.rule_validate_pattern("(" * 300, RuleOperator.CONTAINS)  # plain text: anything
    with pytest.raises(ValidationError) as exc:
        services.rule_validate_pattern("(unclosed", RuleOperator.REGEX)
    assert "value" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.rule_validate_pattern("a" * 201, RuleOperator.REGEX)
    assert "value" in exc.value.message_dict


def test_rule_create_resolves_tag_names(user):
    existing = TagFactory(user=user, name="Coffee")
    rule = services.rule_create(
        user=user,
        data={
            "name": "Coffee",
            "value": "coffee",
            "category": CategoryFactory(user=user),
            "add_tags": ["coffee", "morning"],
        },
    )
    assert sorted(t.name for t in rule.add_tags.all()) == ["Coffee", "morning"]
    assert existing in rule.add_tags.all()


# --- work caps: rules and tags ----------------------------------------------------------


def _rule_data(category, value="coffee"):
    return {"name": "r", "value": value, "category": category}


def test_rule_create_refuses_past_the_per_user_cap(user, other_user, settings):
    settings.RULES_MAX_PER_USER = 3
    category = CategoryFactory(user=user)
    for _ in range(3):
        services.rule_create(user=user, data=_rule_data(category))
    with pytest.raises(ConflictError) as exc:
        services.rule_create(user=user, data=_rule_data(category))
    assert exc.value.code == "rule_limit_reached" and "3 rules" in exc.value.message
    assert Rule.objects.filter(user=user).count() == 3
    # The cap is per user.
    services.rule_create(user=other_user, data=_rule_data(CategoryFactory(user=other_user)))


@pytest.mark.django_db(transaction=True)
def test_rule_cap_holds_under_concurrent_creates(settings):
    require_postgresql()
    settings.RULES_MAX_PER_USER = 5
    owner = UserFactory()
    category = CategoryFactory(user=owner)
    RuleFactory.create_batch(3, user=owner, category=category)

    def create(i):
        return services.rule_create(user=owner, data=_rule_data(category, f"v{i}"))

    results, errors = run_concurrently(create, threads=6, expected=(ConflictError,))
    assert not errors
    assert sum(isinstance(r, ConflictError) for r in results) == 4
    assert Rule.objects.filter(user=owner).count() == 5


def test_tag_names_clean_caps_distinct_names_per_record(settings):
    settings.TAGS_MAX_PER_RECORD = 3
    assert services.tag_names_clean(["a", "A", "b", " b ", "c", "c"]) == ["a", "b", "c"]
    with pytest.raises(ValidationError) as exc:
        services.tag_names_clean(["a", "b", "c", "d"])
    assert exc.value.messages == ["At most 3 tags per record."]
    assert services.tag_names_clean(["a", "b", "c", "d"], max_count=4) == ["a", "b", "c", "d"]


def test_tag_names_clean_reports_few_problems_for_many_bad_names():
    with pytest.raises(ValidationError) as exc:
        services.tag_names_clean([""] * 20_000 + ["x" * 65] * 20_000)
    assert len(exc.value.messages) <= 10


def test_tags_resolve_refuses_too_many_tags_for_one_record(user, settings):
    settings.TAGS_MAX_PER_RECORD = 2
    with pytest.raises(ValidationError) as exc:
        services.tags_resolve(user=user, names=["a", "b", "c"])
    assert list(exc.value.message_dict) == ["tags"]
    assert not Tag.objects.filter(user=user).exists()


def test_tags_resolve_refuses_past_the_per_user_cap_and_creates_nothing(user, other_user, settings):
    settings.TAGS_MAX_PER_USER = 3
    services.tags_resolve(user=user, names=["a", "b"])
    with pytest.raises(ValidationError) as exc:
        services.tags_resolve(user=user, names=["a", "c", "d"])
    assert "at most 3 tags" in exc.value.message_dict["tags"][0]
    assert sorted(Tag.objects.filter(user=user).values_list("name", flat=True)) == ["a", "b"]
    # Reusing existing tags is always fine; one more still fits.
    assert [t.name for t in services.tags_resolve(user=user, names=["B", "c"])] == ["b", "c"]
    services.tags_resolve(user=other_user, names=["a", "b", "c"])


def test_tag_create_refuses_past_the_per_user_cap(user, settings):
    settings.TAGS_MAX_PER_USER = 1
    services.tag_create(user=user, name="one")
    with pytest.raises(ValidationError) as exc:
        services.tag_create(user=user, name="two")
    assert "at most 1 tags" in exc.value.message_dict["name"][0]


def test_rule_add_tags_are_capped_per_rule(user, settings):
    settings.TAGS_MAX_PER_RECORD = 2
    data = {**_rule_data(CategoryFactory(user=user)), "add_tags": ["a", "b", "c"]}
    with pytest.raises(ValidationError) as exc:
        services.rule_create(user=user, data=data)
    assert "add_tags" in exc.value.message_dict
    assert not Rule.objects.filter(user=user).exists()


# --- applying rules to stored records (set-based) ---------------------------------------


def test_apply_rules_sets_categories_and_adds_missing_tags_only(user, make_expense, make_income):
    coffee = CategoryFactory(user=user, name="Coffee")
    tea = CategoryFactory(user=user, name="Tea")
    caffeine, hot = TagFactory(user=user, name="caffeine"), TagFactory(user=user, name="hot")
    RuleFactory(user=user, value="starbucks", category=coffee, add_tags=[caffeine, hot])
    RuleFactory(user=user, value="tea", field="merchant", category=tea)
    plain = make_expense(user, description="STARBUCKS 12")
    tagged = make_expense(user, description="starbucks", category=coffee)
    tagged.tags.add(caffeine)
    by_merchant = make_expense(user, description="x", merchant="Tea House")
    unmatched = make_expense(user, description="Rent")

    assert expenses_apply_rules(book=user.personal_book, only_uncategorized=True) == 2
    for record in (plain, tagged, by_merchant, unmatched):
        record.refresh_from_db()
    assert plain.category == coffee and set(plain.tags.all()) == {caffeine, hot}
    assert set(tagged.tags.all()) == {caffeine}  # it has a category: left alone
    assert by_merchant.category == tea and unmatched.category is None

    # Every record: `tagged` only gains its missing tag; nothing else changes any more.
    assert expenses_apply_rules(book=user.personal_book, only_uncategorized=False) == 1
    assert set(tagged.tags.all()) == {caffeine, hot}
    assert expenses_apply_rules(book=user.personal_book, only_uncategorized=False) == 0


def test_apply_rules_query_count_does_not_grow_with_records(user, make_expense):
    coffee = CategoryFactory(user=user)
    RuleFactory(user=user, value="coffee", category=coffee, add_tags=[TagFactory(user=user)])

    def queries_for(count):
        for _ in range(count):
            make_expense(user, description="coffee")
        with CaptureQueriesContext(connection) as captured:
            assert expenses_apply_rules(book=user.personal_book, only_uncategorized=True) == count
        return len(captured)

    assert queries_for(3) == queries_for(60)


@hypothesis_settings(max_examples=examples(200), deadline=None)
@given(names=st.lists(st.text(max_size=70), max_size=120), cap=st.integers(0, 60))
def test_tag_names_clean_never_returns_more_than_the_cap(names, cap):
    try:
        cleaned = services.tag_names_clean(names, max_count=cap)
    except ValidationError as exc:
        assert 1 <= len(exc.messages) <= 10
        return
    assert len(cleaned) <= cap
    assert len({name.casefold() for name in cleaned}) == len(cleaned)
    assert all(0 < len(name) <= services.NAME_MAX_LENGTH for name in cleaned)


def test_every_model_protecting_its_category_registers_its_own_reassign_service():
    """`?reassign_to=` moves rows only through the owning apps' services, never by a
    write from categories: each protecting model declares one (from its AppConfig)."""
    protecting = {relation.related_model for relation in services.protected_relations()}
    assert {model._meta.label for model in protecting} == {
        "expenses.Expense",
        "income.Income",
        "budgets.Budget",
        "recurring.RecurringItem",
    }
    reassigners = services._category_reassigners
    assert set(reassigners) == protecting
    for model in protecting:
        assert reassigners[model].__module__ == f"{model._meta.app_label}.services"
