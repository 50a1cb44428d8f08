"""The request/response shape shared by expenses and income (SPEC §6)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from books.scoping import BookPrimaryKeyRelatedField, request_book
from categories.models import Category
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
        request = self.context.get("request")
        book = request_book(request)
        kwargs = {"pk": record.pk}
        if book is not None and not book.is_personal:
            kwargs["book_id"] = record.book_id
        path = reverse(f"{record._meta.model_name}-receipt", kwargs=kwargs)
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
