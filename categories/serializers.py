"""Request/response shapes of /categories/, /tags/ and /rules/ (SPEC §5)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Lower
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from books.scoping import BookPrimaryKeyRelatedField, request_book
from core.serializers import StrictModelSerializer, StrictSerializer
from users.roles import is_admin

from . import services
from .models import Category, Kind, Rule, RuleApplication, Tag

COLOR_PATTERN = r"^#[0-9A-Fa-f]{6}$"
PRIORITY_MAX = 1_000_000


def _same_name(queryset: QuerySet, name: str) -> QuerySet:
    # Compared with the database's Lower(), exactly like the unique constraints.
    return queryset.annotate(lower_name=Lower("name")).filter(lower_name=Lower(Value(name)))


class CategorySerializer(StrictModelSerializer):
    """A system category (`is_system`) is held by no book and is visible in every book."""

    name = serializers.CharField(max_length=services.NAME_MAX_LENGTH)
    kind = serializers.ChoiceField(
        choices=Kind.choices,
        help_text="Fixed at creation: records and budgets rely on a category's kind.",
    )
    parent = BookPrimaryKeyRelatedField(
        queryset=Category.objects.all(),
        include_shared_rows=True,
        allow_null=True,
        required=False,
        help_text="A top-level category of the same kind (one level of nesting).",
    )
    icon = serializers.CharField(max_length=64, required=False, allow_blank=True)
    color = serializers.RegexField(
        COLOR_PATTERN,
        required=False,
        allow_blank=True,
        help_text="`#RRGGBB` or empty.",
        error_messages={"invalid": "Use the form #RRGGBB."},
    )
    is_system = serializers.BooleanField(
        required=False,
        default=False,
        help_text=(
            "Output: true for a system category. Input: only an Admin may send true, "
            "on create, to make a system category; ignored otherwise."
        ),
    )

    class Meta:
        model = Category
        fields = [
            "id",
            "name",
            "kind",
            "parent",
            "icon",
            "color",
            "is_system",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None and "kind" in self.fields:
            self.fields["kind"].required = False

    def _user(self) -> Any:
        return self.context["request"].user

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance: Category | None = self.instance
        if instance is None:
            # Mass assignment guard: only an Admin's is_system=true has any effect.
            as_system = bool(attrs.get("is_system")) and is_admin(self._user())
            book = None if as_system else request_book(self.context["request"])
            kind = attrs["kind"]
        else:
            as_system = instance.is_system
            book = instance.book
            kind = instance.kind
            if "kind" in attrs and attrs["kind"] != instance.kind:
                raise serializers.ValidationError(
                    {
                        "kind": [
                            "The kind of a category cannot be changed: its records and "
                            "budgets depend on it. Create a new category and delete this "
                            "one with ?reassign_to=."
                        ]
                    }
                )
        attrs["is_system"] = as_system

        if "name" in attrs:
            self._validate_unique_name(attrs["name"], kind=kind, book=book)
        if attrs.get("parent") is not None:
            self._validate_parent(attrs["parent"], kind=kind, as_system=as_system)
        return attrs

    def _validate_unique_name(self, name: str, *, kind: str, book: Any) -> None:
        # A book's name may not repeat one of the book's own or a system name of that
        # kind; a system name is checked only against system names (never books' data).
        books = Q(book__isnull=True) if book is None else Q(book__isnull=True) | Q(book=book)
        clashes = _same_name(Category.objects.filter(books, kind=kind), name)
        if self.instance is not None:
            clashes = clashes.exclude(pk=self.instance.pk)
        clash = clashes.order_by(F("book_id").asc(nulls_first=True)).first()  # system first
        if clash is None:
            return
        if clash.is_system and book is not None:
            message = f"'{clash.name}' is a system {kind} category; choose another name."
        else:
            message = f"A {kind} category named '{clash.name}' already exists."
        raise serializers.ValidationError({"name": [message]})

    def _validate_parent(self, parent: Category, *, kind: str, as_system: bool) -> None:
        instance: Category | None = self.instance
        errors: list[str] = []
        if instance is not None and parent.pk == instance.pk:
            errors.append("A category cannot be its own parent.")
        elif parent.kind != kind:
            errors.append(f"The parent must be a {kind} category.")
        elif parent.parent_id is not None:
            errors.append("The parent must be a top-level category (one level of nesting).")
        elif as_system and not parent.is_system:
            errors.append("A system category can only have a system category as parent.")
        elif instance is not None and instance.children.exists():
            errors.append("This category has subcategories, so it cannot have a parent.")
        if errors:
            raise serializers.ValidationError({"parent": errors})


class TagSerializer(StrictModelSerializer):
    name = serializers.CharField(max_length=services.NAME_MAX_LENGTH)

    class Meta:
        model = Tag
        fields = ["id", "name"]
        read_only_fields = ["id"]

    def validate_name(self, value: str) -> str:
        book = self.instance.book if self.instance else request_book(self.context["request"])
        clashes = _same_name(Tag.objects.filter(book=book), value)
        if self.instance is not None:
            clashes = clashes.exclude(pk=self.instance.pk)
        if clashes.exists():
            raise serializers.ValidationError(services.TAG_NAME_TAKEN)
        return value


@extend_schema_field({"type": "array", "items": {"type": "string", "maxLength": 64}})
class TagNamesField(serializers.ListField):
    """Tags as a list of names in and out; unknown names are created on save."""

    child = serializers.CharField(max_length=services.NAME_MAX_LENGTH, allow_blank=True)

    def to_representation(self, data: Any) -> list[str]:
        return [tag.name for tag in data.all()]

    def to_internal_value(self, data: Any) -> list[str]:
        names = super().to_internal_value(data)
        try:
            return services.tag_names_clean(names)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


class RuleSerializer(StrictModelSerializer):
    """When a record is created without a category, the first matching active rule
    (lowest `priority`, then oldest) whose category has the record's kind applies."""

    name = serializers.CharField(max_length=100)
    value = serializers.CharField(
        max_length=services.REGEX_MAX_LENGTH,
        trim_whitespace=False,
        help_text=(
            "Text to look for (trimmed), or a regular expression "
            f"(at most {services.REGEX_MAX_LENGTH} characters, kept as sent)."
        ),
    )
    category = BookPrimaryKeyRelatedField(
        queryset=Category.objects.all(),
        include_shared_rows=True,
        help_text="A system category or one of the book's; its kind decides which records "
        "(expenses or income) the rule applies to.",
    )
    add_tags = TagNamesField(required=False, default=list)
    priority = serializers.IntegerField(
        min_value=0,
        max_value=PRIORITY_MAX,
        default=100,
        help_text="Rules are tried from the lowest priority up; ties by age.",
    )

    class Meta:
        model = Rule
        fields = [
            "id",
            "name",
            "field",
            "operator",
            "value",
            "case_sensitive",
            "category",
            "add_tags",
            "priority",
            "active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance: Rule | None = self.instance
        operator = attrs.get("operator", instance.operator if instance else "contains")
        if "value" in attrs or "operator" in attrs or "case_sensitive" in attrs:
            value = attrs.get("value", instance.value if instance else "")
            if operator != "regex":
                value = value.strip()
            if not value:
                raise serializers.ValidationError({"value": ["This field may not be blank."]})
            case_sensitive = attrs.get(
                "case_sensitive", instance.case_sensitive if instance else False
            )
            services.rule_validate_pattern(value, operator, case_sensitive=case_sensitive)
            attrs["value"] = value
        return attrs


class RulesApplyInputSerializer(StrictSerializer):
    only_uncategorized = serializers.BooleanField(
        default=True,
        help_text="Only records without a category (default). False re-categorises "
        "every record a rule matches.",
    )


class RulesApplyResultSerializer(serializers.Serializer):
    changed = serializers.IntegerField(help_text="Records changed in total.")
    expenses = serializers.IntegerField()
    incomes = serializers.IntegerField()


class RuleApplicationSerializer(serializers.ModelSerializer):
    """A large rules run on the task queue; poll `GET /rules/apply/{id}/` until `done`
    (counts filled in) or `failed` (nothing changed, `error` says why)."""

    class Meta:
        model = RuleApplication
        fields = [
            "id",
            "status",
            "only_uncategorized",
            "candidates",
            "changed",
            "expenses",
            "incomes",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class CategoryDeleteQuerySerializer(serializers.Serializer):
    reassign_to = serializers.IntegerField(required=False, min_value=1)
