"""The request/response shape shared by expenses and income (SPEC §6)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.db import connections, router
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from books.scoping import BookPrimaryKeyRelatedField, request_book
from categories.models import Category, Tag
from core.money import amount_errors, format_amount
from core.serializers import (
    BoundedDateField,
    CurrencyCodeField,
    MoneyField,
    StrictModelSerializer,
    StrictSerializer,
)
from core.uploads import check_upload

RECEIPT_MIMES = frozenset(
    {"image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "application/pdf"}
)


def category_of_kind(value: Category | None, kind: str) -> Category | None:
    """A record's category must be of the record's kind (expense or income), whether it is
    set on one record or on many at once; None (no category) always is."""
    if value is not None and value.kind != kind:
        raise serializers.ValidationError(f"Choose a category of kind '{kind}'.")
    return value


class AmountField(MoneyField):
    """An amount in a request: the project's strict number grammar (`core.money.parse_money`);
    range and decimal places are checked against the currency in `validate`."""


class TagNamesField(serializers.ListField):
    child = serializers.CharField(max_length=64, allow_blank=False, trim_whitespace=True)

    def to_representation(self, value: Any) -> list[str]:
        return [tag.name for tag in value.all()]


@extend_schema_field(OpenApiTypes.URI)
class ReceiptField(serializers.FileField):
    """Upload: an image or PDF. Read: the download URL (members of the record's book
    only), or null — under `/books/{book_id}/` for a shared book's record, since the
    top-level paths mean the caller's personal book."""

    def to_representation(self, value: Any) -> str | None:
        if not value:
            return None
        record = value.instance
        return receipt_url(
            self.context.get("request"), record._meta.model_name, record.pk, record.book_id
        )


def receipt_url(request: Any, model_name: str, pk: int, book_id: int) -> str:
    """Where a record's receipt downloads: under `/books/{book_id}/` when the request is
    scoped to a shared book, else the top-level path (the caller's personal book)."""
    book = request_book(request)
    kwargs = {"pk": pk}
    if book is not None and not book.is_personal:
        kwargs["book_id"] = book_id
    path = reverse(f"{model_name}-receipt", kwargs=kwargs)
    return request.build_absolute_uri(path) if request else path


@extend_schema_field(
    {
        "type": "string",
        "format": "binary",
        "description": "An image (JPEG, PNG, GIF, WebP, HEIC) or PDF; an empty value "
        "removes the receipt.",
    }
)
class ReceiptUploadField(ReceiptField):
    """`receipt` as a multipart body documents it: a file part (schema only)."""


@extend_schema_field(
    {
        # Inside allOf, so drf-spectacular's enum post-processing (which drops null from an
        # enum and would leave this one empty) does not make it a component.
        "allOf": [{"type": "string", "nullable": True, "enum": [None]}],
        "nullable": True,
        "description": "Only `null`, which removes the receipt: a file is sent as "
        "`multipart/form-data`.",
    }
)
class ReceiptRemovalField(ReceiptField):
    """`receipt` as a JSON body documents it: JSON carries no file, only `null` (schema
    only)."""


class TransactionSerializer(StrictModelSerializer):
    """Base for ExpenseSerializer and IncomeSerializer; subclasses set Meta and `kind`."""

    kind: str = ""

    amount = AmountField()
    currency = CurrencyCodeField(max_length=3, required=False)
    base_amount = serializers.SerializerMethodField()
    exchange_rate = serializers.DecimalField(max_digits=24, decimal_places=12, read_only=True)
    date = BoundedDateField()
    description = serializers.CharField(max_length=255, trim_whitespace=True, allow_blank=False)
    # The book's own categories and the system ones; another book's id → 400.
    category = BookPrimaryKeyRelatedField(
        queryset=Category.objects.all(), include_shared_rows=True, allow_null=True, required=False
    )
    category_name = serializers.CharField(
        source="category.name", read_only=True, default=None, allow_null=True
    )
    # The learned categoriser's suggestion for a record stored without a category (SPEC
    # §16); never applied by itself. Setting `category` (accepting it) clears it.
    suggested_category = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="The category the book's learned model suggests for this uncategorised "
        "record, or null. Not applied: set `category` to accept it (that clears it).",
    )
    suggested_category_name = serializers.CharField(
        source="suggested_category.name", read_only=True, default=None, allow_null=True
    )
    suggested_confidence = serializers.DecimalField(
        max_digits=4,
        decimal_places=3,
        read_only=True,
        allow_null=True,
        help_text="How sure the model was (0–1), or null.",
    )
    notes = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    tags = TagNamesField(required=False)
    receipt = ReceiptField(required=False, allow_null=True)

    base_fields = [
        "id",
        "amount",
        "currency",
        "base_amount",
        "exchange_rate",
        "date",
        "description",
        "category",
        "category_name",
        "suggested_category",
        "suggested_category_name",
        "suggested_confidence",
        "notes",
        "tags",
        "receipt",
        "created_at",
        "updated_at",
    ]

    @extend_schema_field(OpenApiTypes.STR)
    def get_base_amount(self, obj: Any) -> str:
        return format_amount(obj.base_amount, obj.book.base_currency)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["amount"] = format_amount(instance.amount, instance.currency)
        if instance.category_id is not None:
            # Categorised since (e.g. by applying rules): the suggestion no longer applies.
            data["suggested_category"] = data["suggested_category_name"] = None
            data["suggested_confidence"] = None
        return data

    def validate_category(self, value: Category | None) -> Category | None:
        return category_of_kind(value, self.kind)

    def validate_receipt(self, value: Any) -> Any:
        if value:
            check_upload(
                value,
                field="receipt",
                max_bytes=settings.RECEIPT_MAX_BYTES,
                allowed_mimes=RECEIPT_MIMES,
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance
        amount: Decimal | None = attrs.get("amount", getattr(instance, "amount", None))
        currency = attrs.get("currency") or getattr(instance, "currency", None)
        if currency is None:
            currency = request_book(self.context["request"]).base_currency
        if amount is not None and ("amount" in attrs or "currency" in attrs):
            errors = amount_errors(amount, currency)
            if errors:
                raise serializers.ValidationError({"amount": errors})
        return attrs


class LeanList:
    """A list page of records written exactly as `serializer_class(page, many=True).data`
    would write it — the same keys in the same order, amounts, dates, timestamps, nulls,
    tags, receipt links — from `.values()` rows, without model instances or DRF's
    field-by-field machinery (which cost about 0.5 ms a row; this, a few µs).

    The read side of the list only: detail, create and update answers go through the
    serializer. What each field means is still the serializer's rule: amounts through
    `format_amount`, decimals through the serializer's own fields, the receipt link
    through `receipt_url`, a category clearing the suggestion as in
    `TransactionSerializer.to_representation`. ledger/tests/test_lean_list.py compares
    both, byte for byte, on random records. Subclasses (one per app) add their model's
    columns (`extra_columns`, `extra_fields`).

    Queries: the page (with both category names joined), then the page's tags; an
    app may add one more (expenses: the split parts, only when a row is split).
    """

    serializer_class: ClassVar[type[TransactionSerializer]]
    columns: ClassVar[tuple[str, ...]] = (
        "id",
        "amount",
        "currency",
        "base_amount",
        "exchange_rate",
        "date",
        "description",
        "category_id",
        "category__name",
        "suggested_category_id",
        "suggested_category__name",
        "suggested_confidence",
        "notes",
        "receipt",
        "created_at",
        "updated_at",
        "book_id",
    )
    extra_columns: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, request: Any, book: Any) -> None:
        self.request = request
        self.book = book
        self.model = self.serializer_class.Meta.model
        fields = self.serializer_class._declared_fields
        self.exchange_rate = fields["exchange_rate"].to_representation
        self.confidence = fields["suggested_confidence"].to_representation
        self.timezone = timezone.get_current_timezone()

    def queryset(self, queryset: QuerySet) -> QuerySet:
        """`queryset` (scoped, filtered, ordered) as the rows this class reads."""
        return (
            queryset.select_related(None)
            .prefetch_related(None)
            .values(*self.columns, *self.extra_columns)
        )

    def represent(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [row["id"] for row in rows]
        tags = self.tag_names(ids) if ids else {}
        related = self.related(rows)
        return [self.represent_row(row, tags.get(row["id"], []), related) for row in rows]

    def tag_names(self, ids: list[int]) -> dict[int, list[str]]:
        """Each record's tag names in the Tag model's order (name, id), as the prefetch
        the serializer reads gives them. Plain SQL over the tags' join table: the ORM
        spent four times as long building this one fixed query as running it."""
        alias = router.db_for_read(self.model)
        connection = connections[alias]
        placeholders = ", ".join(["%s"] * len(ids))
        names: dict[int, list[str]] = {}
        with connection.cursor() as cursor:
            cursor.execute(self.tags_sql(connection).format(ids=placeholders), ids)
            for record_id, name in cursor.fetchall():
                names.setdefault(record_id, []).append(name)
        return names

    @classmethod
    def tags_sql(cls, connection: Any) -> str:
        quote = connection.ops.quote_name
        through = cls.serializer_class.Meta.model.tags.through._meta
        own = through.get_field(cls.serializer_class.Meta.model._meta.model_name).column
        tag = through.get_field("tag").column
        name, pk = Tag._meta.get_field("name").column, Tag._meta.pk.column
        return (
            f"SELECT t.{quote(own)}, g.{quote(name)} FROM {quote(through.db_table)} t "
            f"INNER JOIN {quote(Tag._meta.db_table)} g ON g.{quote(pk)} = t.{quote(tag)} "
            f"WHERE t.{quote(own)} IN ({{ids}}) ORDER BY g.{quote(name)}, g.{quote(pk)}"
        )

    def related(self, rows: list[dict[str, Any]]) -> Any:
        """What `extra_fields` needs beyond the rows (one query at most)."""
        return None

    def timestamp(self, value: Any) -> str | None:
        """DRF's DateTimeField: in the current time zone, ISO 8601, UTC as `Z`."""
        if not value:
            return None
        text = value.astimezone(self.timezone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    def represent_row(self, row: dict[str, Any], tags: list[str], related: Any) -> dict[str, Any]:
        category_id = row["category_id"]
        confidence = row["suggested_confidence"]
        receipt = row["receipt"]
        categorised = category_id is not None
        data = {
            "id": row["id"],
            "amount": format_amount(row["amount"], row["currency"]),
            "currency": row["currency"],
            "base_amount": format_amount(row["base_amount"], self.book.base_currency),
            "exchange_rate": self.exchange_rate(row["exchange_rate"]),
            "date": row["date"].isoformat(),
            "description": row["description"],
            "category": category_id,
            "category_name": row["category__name"],
            # Categorised since (e.g. by applying rules): the suggestion no longer applies.
            "suggested_category": None if categorised else row["suggested_category_id"],
            "suggested_category_name": None if categorised else row["suggested_category__name"],
            "suggested_confidence": (
                None if categorised or confidence is None else self.confidence(confidence)
            ),
            "notes": row["notes"],
            "tags": tags,
            "receipt": (
                receipt_url(self.request, self.model._meta.model_name, row["id"], row["book_id"])
                if receipt
                else None
            ),
            "created_at": self.timestamp(row["created_at"]),
            "updated_at": self.timestamp(row["updated_at"]),
        }
        self.extra_fields(data, row, related)
        return data

    def extra_fields(self, data: dict[str, Any], row: dict[str, Any], related: Any) -> None:
        """Adds the app's own fields to `data`, in its serializer's order."""


def request_bodies(serializer_class: type[TransactionSerializer]) -> dict[str, type]:
    """The request schema of each media type a record's writes take (drf-spectacular's
    `extend_schema(request=...)`): the same fields as `serializer_class`, which validates
    every body, with `receipt` as each one can carry it — only `null` in JSON, a file part
    in `multipart/form-data`.

    Components: JSON keeps the serializer's own name (`ExpenseRequest`), multipart adds
    `Multipart` (`ExpenseMultipartRequest`). Form-urlencoded bodies are still parsed but
    not documented (docs/api.md offers JSON, and multipart for the receipt).
    """
    name = serializer_class.__name__.removesuffix("Serializer")

    def variant(suffix: str, receipt: serializers.Field) -> type:
        body = type(
            f"{name}{suffix}RequestSerializer",
            (serializer_class,),
            {"receipt": receipt, "__module__": serializer_class.__module__},
        )
        return extend_schema_serializer(component_name=f"{name}{suffix}")(body)

    return {
        "application/json": variant("", ReceiptRemovalField(required=False, allow_null=True)),
        # Not nullable: a form part has no null; its empty value removes the receipt.
        "multipart/form-data": variant("Multipart", ReceiptUploadField(required=False)),
    }


# The most records one bulk recategorisation changes: a request's time stays bounded,
# and a screenful of selected rows is far below it.
RECATEGORIZE_MAX = 1000


class RecategorizeSerializer(StrictSerializer):
    """`POST /expenses/recategorize/` (and `/incomes/`): many records, one category.
    Subclasses set `kind`."""

    kind: str = ""

    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        min_length=1,
        max_length=RECATEGORIZE_MAX,
        help_text=f"The records to change (1–{RECATEGORIZE_MAX}), all of this book's; "
        "repeats count once.",
    )
    category = BookPrimaryKeyRelatedField(
        queryset=Category.objects.all(),
        include_shared_rows=True,
        allow_null=True,
        help_text="The category they all get (the book's or a system one, of the records' "
        "kind), or null for none.",
    )

    def validate_category(self, value: Category | None) -> Category | None:
        return category_of_kind(value, self.kind)


class RecategorizeResultSerializer(serializers.Serializer):
    updated = serializers.IntegerField(help_text="How many records now have the category.")
