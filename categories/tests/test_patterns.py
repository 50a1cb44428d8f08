"""Regex rules cannot exhaust memory or time: compile cost is bounded before compiling."""

import time
import tracemalloc

import pytest
import regex
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backups.document import FORMAT, SUPPORTED_VERSIONS, BackupInvalid, parse_backup
from categories import services
from categories.models import Kind, RuleOperator
from categories.patterns import (
    EXPANDED_SIZE_MAX,
    REPEAT_MAX,
    REPEAT_NESTING_MAX,
    PatternTooCostly,
    pattern_check,
)
from categories.tests.factories import CategoryFactory, RuleFactory
from tests.fuzz_depth import examples

RULES = "/api/v1/rules/"

# Each of these compiled for seconds and hundreds of megabytes (or gigabytes) before.
COSTLY = [
    "x{99999999}",
    "x{1001}",
    "x{2,99999999}",
    "x{100000,}",
    "(?:x{1000}){1000}",
    "(?:(?:x{100}){100}){100}",
    r"(?=\w{100000})",
    "(a)\\1{99999}",
    "(?:a{10}|b{10}|c{10}){500}",
    "((((x+)+)+)+)",
]


@pytest.mark.parametrize("pattern", COSTLY)
def test_costly_patterns_are_refused_without_compiling(pattern, monkeypatch):
    def no_compile(*args, **kwargs):
        raise AssertionError("compiled a pattern that should have been refused first")

    monkeypatch.setattr(regex, "compile", no_compile)
    with pytest.raises(ValidationError) as info:
        services.rule_validate_pattern(pattern, RuleOperator.REGEX)
    assert "too costly" in info.value.message_dict["value"][0]


@pytest.mark.parametrize(
    "pattern",
    [
        r"^coffee\b",
        r"(?i)star\s*bucks",
        "x{1000}",
        r"\p{L}+ \d{2,4}",
        r"(?:uber|lyft)(?: eats)?",
        "((a+)b)+",
        r"(?<=#)\d+",
        r"(?:\w{10}){1,1000}",
    ],
)
def test_ordinary_patterns_still_pass(pattern):
    services.rule_validate_pattern(pattern, RuleOperator.REGEX)
    services.rule_validate_pattern(pattern, RuleOperator.REGEX, case_sensitive=True)


def test_the_bounds_are_reported():
    with pytest.raises(PatternTooCostly, match=str(REPEAT_MAX)):
        pattern_check(f"x{{{REPEAT_MAX + 1}}}")
    with pytest.raises(PatternTooCostly, match=str(REPEAT_NESTING_MAX)):
        pattern_check("(" * (REPEAT_NESTING_MAX + 1) + "x" + "+)" * (REPEAT_NESTING_MAX + 1))
    with pytest.raises(PatternTooCostly, match=str(EXPANDED_SIZE_MAX)):
        pattern_check("(?:x{200}){200}")
    with pytest.raises(regex.error):
        pattern_check("(unclosed")


@pytest.mark.django_db
def test_api_refuses_a_costly_regex_with_400_naming_value(auth_client, user):
    category = CategoryFactory(user=user)
    body = {"name": "boom", "operator": "regex", "value": "x{99999999}", "category": category.pk}
    response = auth_client.post(RULES, body, format="json")
    assert response.status_code == 400
    assert "Repeat counts may be at most 1000" in response.json()["value"][0]

    rule = RuleFactory(user=user, operator=RuleOperator.REGEX, value="coffee")
    response = auth_client.patch(f"{RULES}{rule.pk}/", {"value": "(?:x{999}){999}"}, format="json")
    assert response.status_code == 400 and "value" in response.json()
    rule.refresh_from_db()
    assert rule.value == "coffee"


@pytest.mark.django_db
def test_backup_restore_uses_the_same_bound():
    document = {
        "format": FORMAT,
        "version": max(SUPPORTED_VERSIONS),
        "rules": [
            {
                "name": "boom",
                "operator": "regex",
                "value": "x{99999999}",
                "category": {"system": True, "kind": "expense", "name": "Food"},
            }
        ],
    }
    with pytest.raises(BackupInvalid) as info:
        parse_backup(document)
    assert "Repeat counts" in str(info.value.errors)


@pytest.mark.django_db
def test_a_stored_costly_rule_is_skipped_not_compiled(user, monkeypatch):
    """A rule saved before the bound (written straight to the table) cannot blow up matching."""
    food = CategoryFactory(user=user, kind=Kind.EXPENSE)
    RuleFactory(user=user, operator=RuleOperator.REGEX, value="x{99999999}", priority=1)
    RuleFactory(user=user, value="coffee", category=food, priority=2)
    tracemalloc.start()
    try:
        category, _tags = services.rules_match(
            book=user.personal_book, kind=Kind.EXPENSE, description="Coffee"
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert category == food
    assert peak < 20_000_000


@pytest.mark.django_db
def test_a_slow_regex_stops_after_its_run_budget(user, monkeypatch):
    """Each search is bounded by the timeout and the rule's total by the run budget."""
    monkeypatch.setattr(services, "REGEX_TIMEOUT_SECONDS", 0.01)
    monkeypatch.setattr(services, "REGEX_RUN_BUDGET_SECONDS", 0.05)
    RuleFactory(user=user, operator=RuleOperator.REGEX, value=r"(?:a|aa)+$", priority=1)
    matcher = services.rules_for(book=user.personal_book)
    hostile = "a" * 60 + "b"
    started = time.perf_counter()
    for _ in range(200):
        assert matcher.match(kind=Kind.EXPENSE, description=hostile) == (None, [])
    assert time.perf_counter() - started < 1.0  # 200 searches x 10 ms would be 2 s


# --- generated hostile patterns ------------------------------------------------------------

_ATOMS = st.sampled_from(["x", ".", r"\w", "[a-z]", r"\d", "(?:ab)", "a|b", r"\X", "ß"])
_COUNTS = st.sampled_from([0, 1, 2, 9, 10, 99, 100, 999, 1000, 1001, 65535, 99999999])


@st.composite
def _quantifier(draw):
    low = draw(_COUNTS)
    shape = draw(st.sampled_from(["{n}", "{n,}", "{n,m}", "*", "+", "?", "{n}?", "{n}+"]))
    high = max(low, draw(_COUNTS))
    return shape.replace("n", str(low)).replace("m", str(high))


def _extend(children):
    return st.one_of(
        st.builds(lambda a, q: f"(?:{a}){q}", children, _quantifier()),
        st.builds(lambda a: f"({a})", children),
        st.builds(lambda a, b: f"{a}|{b}", children, children),
        st.builds(lambda a, b: a + b, children, children),
        st.builds(lambda a: f"(?={a})", children),
        st.builds(lambda a: f"(?<!{a})", children),
        st.builds(lambda a: f"(?>{a})", children),
        st.builds(lambda a: f"({a})\\1", children),
        st.builds(lambda a: f"(?:{a}){{e<=2}}", children),
    )


HOSTILE = st.recursive(
    st.builds(lambda a, q: a + q, _ATOMS, _quantifier()) | _ATOMS, _extend, max_leaves=12
).filter(lambda p: len(p) <= services.REGEX_MAX_LENGTH)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pattern=HOSTILE, case_sensitive=st.booleans())
def test_any_short_pattern_is_refused_or_compiles_within_budget(pattern, case_sensitive):
    """Refused with a ValidationError on `value`, or validated (and compiled) in < 1 s, < 50 MB."""
    regex.purge()  # the module caches compiled patterns: measure a real compile every time
    tracemalloc.start()
    started = time.perf_counter()
    try:
        services.rule_validate_pattern(pattern, RuleOperator.REGEX, case_sensitive=case_sensitive)
    except ValidationError as exc:
        assert list(exc.message_dict) == ["value"]
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < 1.0, pattern
    assert peak < 50_000_000, pattern
