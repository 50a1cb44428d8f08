"""OpenAPI shapes of the backup document and of a restore's request and result.

The document itself is read by `document.parse_backup` (fast enough for a 10 MB
file, with errors by path); these serializers describe it in the schema and read
the small multipart form.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from budgets.models import Scope
from categories.models import Kind, RuleField, RuleOperator
from expenses.models import PaymentMethod
from goals.models import GoalStatus
from notifications.serializers import NotificationPreferencesSerializer

from .document import FORMAT, VERSION
from .services import MODES, RESULT_SECTIONS

CATEGORY_REF_SCHEMA: dict[str, Any] = {
    "type": "object",
    "nullable": True,
    "description": (
        'A category of this backup, `{"key": "c1"}`; a system category, '
        '`{"system": true, "kind": "expense", "name": "Food"}` (restored to the system '
        "category of that kind and name on the target server); or null."
    ),
    "properties": {
        "key": {"type": "string"},
        "system": {"type": "boolean"},
        "kind": {"type": "string", "enum": list(Kind.values)},
        "name": {"type": "string"},
    },
}
AMOUNT_HELP = (
    "Plain decimal as a string (numbers accepted), e.g. `12.50`: no exponent, separators "
    "or non-ASCII digits, at most 24 significant digits."
)


@extend_schema_field(CATEGORY_REF_SCHEMA)
class CategoryRefField(serializers.JSONField):
    pass


def _choice(choices: Any, **kwargs: Any) -> serializers.ChoiceField:
    """A choice field whose enum stays inline (wrapped in `allOf`): these shapes reuse
    field names of other components (`kind`, `status`…), and drf-spectacular would
    otherwise have to invent clashing names for shared enum components."""
    values = [value for value, _ in choices]
    field_class = extend_schema_field({"allOf": [{"type": "string", "enum": values}]})(
        type("InlineChoiceField", (serializers.ChoiceField,), {})
    )
    kwargs.setdefault("help_text", f"One of: {', '.join(values)}.")
    return field_class(choices=choices, **kwargs)


def _amount(help_text: str = AMOUNT_HELP, **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(help_text=help_text, **kwargs)


def _names(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, help_text=help_text
    )


class BackupUserSettingsSerializer(serializers.Serializer):
    base_currency = serializers.CharField(
        max_length=3,
        help_text="ISO 4217 code; budgets, goals and base amounts of the backup are in it.",
    )
    timezone = serializers.CharField(required=False)
    month_start_day = serializers.IntegerField(min_value=1, max_value=28, required=False)
    first_name = serializers.CharField(required=False, allow_blank=True)
    last_name = serializers.CharField(required=False, allow_blank=True)


class BackupCategorySerializer(serializers.Serializer):
    key = serializers.CharField(
        help_text="Local key (`c1`, `c2`…) other sections use to refer to this category."
    )
    name = serializers.CharField(max_length=64)
    kind = _choice(choices=Kind.choices)
    parent = CategoryRefField(required=False)
    icon = serializers.CharField(required=False, allow_blank=True)
    color = serializers.CharField(required=False, allow_blank=True)


class BackupTagSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64)


class BackupRuleSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    field = _choice(choices=RuleField.choices, required=False)
    operator = _choice(choices=RuleOperator.choices, required=False)
    value = serializers.CharField()
    case_sensitive = serializers.BooleanField(required=False)
    category = CategoryRefField()
    add_tags = _names("Tag names (created when missing).")
    priority = serializers.IntegerField(required=False)
    active = serializers.BooleanField(required=False)


class _BackupTransactionSerializer(serializers.Serializer):
    amount = _amount()
    currency = serializers.CharField(max_length=3)
    base_amount = _amount(
        "In the backup's base currency. Informative: a restore recomputes it from this "
        "server's exchange rates (400 naming the pair, date and record when one is missing).",
        required=False,
    )
    exchange_rate = serializers.CharField(
        required=False, help_text="Informative, like `base_amount`; recomputed on restore."
    )
    date = serializers.DateField(help_text="YYYY-MM-DD, between 1900-01-01 and 2199-12-31.")
    description = serializers.CharField(max_length=255)
    category = CategoryRefField(required=False)
    notes = serializers.CharField(required=False, allow_blank=True)
    tags = _names("Tag names.")
    has_receipt = serializers.BooleanField(
        required=False,
        help_text="Whether a receipt file was attached. Receipt files are not part of a "
        "backup and are not restored.",
    )


class BackupExpenseSerializer(_BackupTransactionSerializer):
    payment_method = _choice(choices=PaymentMethod.choices, required=False)
    merchant = serializers.CharField(required=False, allow_blank=True)


class BackupIncomeSerializer(_BackupTransactionSerializer):
    source = serializers.CharField(required=False, allow_blank=True)


class BackupBudgetSerializer(serializers.Serializer):
    month = serializers.RegexField(r"^\d{4}-\d{2}$", help_text="YYYY-MM.")
    scope = _choice(choices=Scope.choices)
    category = CategoryRefField(required=False)
    amount = _amount("In the backup's base currency.")
    rollover = serializers.BooleanField(required=False)
    warn_threshold = serializers.CharField(required=False, help_text="Fraction in (0, 1].")


class BackupContributionSerializer(serializers.Serializer):
    amount = _amount("Base currency; negative for a withdrawal.")
    date = serializers.DateField()
    note = serializers.CharField(required=False, allow_blank=True)


class BackupGoalSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    target_amount = _amount("In the backup's base currency.")
    target_date = serializers.DateField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    status = _choice(
        choices=GoalStatus.choices,
        required=False,
        help_text="On restore only `archived` is kept; otherwise the contributions decide.",
    )
    contributions = BackupContributionSerializer(many=True, required=False)


class BackupDocumentSerializer(serializers.Serializer):
    """Everything one user owns. Sections other than `user` may be omitted (empty)."""

    format = serializers.CharField(help_text=f"Always `{FORMAT}`.")
    version = serializers.IntegerField(help_text=f"Format version; this server writes {VERSION}.")
    exported_at = serializers.DateTimeField(required=False)
    user = BackupUserSettingsSerializer()
    categories = BackupCategorySerializer(many=True, required=False)
    tags = BackupTagSerializer(many=True, required=False)
    rules = BackupRuleSerializer(many=True, required=False)
    expenses = BackupExpenseSerializer(many=True, required=False)
    incomes = BackupIncomeSerializer(many=True, required=False)
    budgets = BackupBudgetSerializer(many=True, required=False)
    goals = BackupGoalSerializer(many=True, required=False)
    notification_preferences = NotificationPreferencesSerializer(required=False)
    recurring = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        help_text="Recurring items (the recurring item fields, category as a reference); "
        "empty on servers without recurring items.",
    )


class BackupUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A backup document (JSON), as exported.")
    mode = _choice(
        choices=[(mode, mode) for mode in MODES],
        required=False,
        help_text="`merge` (default) adds to your data; `replace` deletes it first.",
    )


class BackupSectionCountsSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    skipped = serializers.IntegerField(
        help_text="Matched something already there (merge): reused or not added again."
    )
    deleted = serializers.IntegerField(help_text="Removed first (replace mode).")


class BackupRestoreSectionsSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {name: BackupSectionCountsSerializer() for name in RESULT_SECTIONS}


class BackupRestoreResultSerializer(serializers.Serializer):
    mode = _choice(choices=[(mode, mode) for mode in MODES])
    settings_applied = serializers.BooleanField(
        help_text="Whether the backup's settings and notification preferences were applied "
        "(replace mode only)."
    )
    sections = BackupRestoreSectionsSerializer()
