"""Upload options (multipart form) and the batch's preview shape."""

from __future__ import annotations

import json
from dataclasses import fields as dataclass_fields
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from books.scoping import BookPrimaryKeyRelatedField
from core.parsers import load_json
from core.serializers import CurrencyCodeField, StrictModelSerializer, StrictSerializer

from .models import PREVIEW_ROWS_SHOWN, ImportBatch, ImportProfile
from .parsers.base import CsvOptions, StatementError
from .parsers.columns import MAX_COLUMN_INDEX, ROLES
from .parsers.encodings import text_codec
from .parsers.table import (
    DEFAULT_CREDIT_MARKERS,
    MAX_CREDIT_MARKERS,
    MAX_MARKER_CHARS,
    date_format_problem,
)
from .profiles import profile_source_batch, sample_header
from .rowstore import head_rows, row_count

FORMATS = ["auto", "csv", "ofx", "qfx", "qif", "xlsx", "camt", "mt940"]
COLUMN_ROLES = frozenset(ROLES)  # the roles the table parser understands


class CreditMarkersField(serializers.ListField):
    """`credit_markers` as repeated form fields (`credit_markers=CR`, `credit_markers=H`)
    or as one JSON array (`credit_markers=["CR", "Haben"]`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            child=serializers.CharField(max_length=MAX_MARKER_CHARS),
            min_length=1,
            max_length=MAX_CREDIT_MARKERS,
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> list[str]:
        if isinstance(data, str):
            data = [data]
        if (
            isinstance(data, list)
            and len(data) == 1
            and isinstance(data[0], str)
            and data[0].lstrip().startswith(("[", "{"))
        ):
            try:
                data = load_json(data[0])
            except ValueError:
                data = None
            if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
                raise serializers.ValidationError(
                    'Must be a JSON array of strings, e.g. ["CR", "Haben"], or repeated values.'
                )
        return super().to_internal_value(data)


class ImportUploadSerializer(StrictSerializer):
    file = serializers.FileField(
        help_text="The statement (CSV, OFX, QFX, QIF, XLSX, camt.052/053 or MT940)."
    )
    format = serializers.ChoiceField(choices=FORMATS, default="auto")
    default_currency = CurrencyCodeField(
        required=False,
        help_text="Currency of rows whose file does not say (default: the book's base currency).",
    )
    delimiter = serializers.CharField(required=False, max_length=1, trim_whitespace=False)
    encoding = serializers.CharField(required=False, max_length=32)
    date_format = serializers.CharField(
        required=False, max_length=32, help_text="strptime, e.g. %d.%m.%Y"
    )
    decimal_separator = serializers.ChoiceField(choices=[".", ","], required=False)
    columns = serializers.CharField(
        required=False,
        help_text='JSON object: role → header name or 0-based index, e.g. {"date": "Booked", '
        '"amount": 3}. Roles: date, description, amount (or debit + credit), merchant, currency, '
        "memo, fitid, direction; description may list several columns.",
    )
    skip_rows = serializers.IntegerField(required=False, min_value=0, max_value=1000)
    negate = serializers.BooleanField(required=False, default=False)
    credit_markers = CreditMarkersField(
        required=False,
        help_text="Values of the `direction` column that mean money in (case-insensitive, "
        "trimmed); any other value is money out. Default: "
        + ", ".join(DEFAULT_CREDIT_MARKERS)
        + ".",
    )

    profile = serializers.CharField(
        required=False,
        max_length=100,
        help_text="A saved import profile (/imports/profiles/) by id or name: its options, "
        "overridden by any given here. Without it and without options, a profile whose header "
        "fingerprint matches the file's header is used.",
    )

    def validate_encoding(self, value: str) -> str:
        try:
            text_codec(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value

    def validate_date_format(self, value: str) -> str:
        problem = date_format_problem(value)
        if problem:
            raise serializers.ValidationError(f"{problem} Use strptime directives, e.g. %d.%m.%Y.")
        return value

    def validate_columns(self, value: str) -> dict[str, Any]:
        try:
            columns = load_json(value)
        except ValueError:
            raise serializers.ValidationError("Must be a JSON object.") from None
        if not isinstance(columns, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        unknown = set(columns) - COLUMN_ROLES
        if unknown:
            raise serializers.ValidationError(f"Unknown roles: {', '.join(sorted(unknown))}.")
        for role, ref in columns.items():
            refs = ref if role == "description" and isinstance(ref, list) else [ref]
            if not refs:
                raise serializers.ValidationError(f"{role}: give at least one column.")
            for one in refs:
                named = isinstance(one, str) and one.strip()
                numbered = (
                    isinstance(one, int)
                    and not isinstance(one, bool)
                    and 0 <= one <= MAX_COLUMN_INDEX
                )
                if not (named or numbered):
                    raise serializers.ValidationError(
                        f"{role}: give a header name or a 0-based index "
                        f"(at most {MAX_COLUMN_INDEX})."
                    )
        return columns


class ImportErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    message = serializers.CharField()


class PossibleDuplicateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["expense", "income"])


class AppliedProfileSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    matched_by = serializers.ChoiceField(choices=["name", "fingerprint"])


class ImportRowSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    date = serializers.DateField()
    description = serializers.CharField()
    amount = serializers.CharField(help_text="Positive; `kind` says which way the money went.")
    kind = serializers.ChoiceField(choices=["expense", "income"])
    currency = serializers.CharField()
    merchant = serializers.CharField(allow_blank=True)
    suggested_category = serializers.IntegerField(
        allow_null=True,
        help_text="The category a rule of the book gives this row (applied on commit) or, "
        "when none matches, the one its learned model suggests (`suggestion_source`); or null.",
    )
    suggested_category_name = serializers.CharField(allow_null=True)
    suggested_confidence = serializers.CharField(
        allow_null=True,
        default=None,
        help_text="The model's confidence (0–1, a decimal string) for a `model` suggestion; "
        "null for a rule's.",
    )
    suggestion_source = serializers.ChoiceField(
        choices=["rules", "model"],
        allow_null=True,
        default=None,
        help_text="`rules`: the category is applied on commit. `model`: a suggestion only — "
        "the stored record keeps it as `suggested_category` and stays uncategorised until "
        "you set its category.",
    )
    duplicate = serializers.BooleanField()
    possible_duplicate = serializers.SerializerMethodField(
        help_text="The record entered by hand this row may duplicate (skipped on commit "
        "unless its line is in `keep_lines`), or null."
    )

    @extend_schema_field(PossibleDuplicateSerializer(allow_null=True))
    def get_possible_duplicate(self, row: dict[str, Any]) -> dict[str, Any] | None:
        return row.get("possible_duplicate")


class ImportBatchSerializer(serializers.ModelSerializer):
    errors = ImportErrorSerializer(many=True)
    rows = serializers.SerializerMethodField()
    rows_truncated = serializers.SerializerMethodField()
    profile = serializers.SerializerMethodField(
        help_text="The saved profile whose options this preview used and how it was chosen "
        "(named in the upload, or by the file's header fingerprint), or null."
    )

    class Meta:
        model = ImportBatch
        fields = [
            "id",
            "status",
            "format",
            "filename",
            "default_currency",
            "total_rows",
            "new_rows",
            "duplicate_rows",
            "possible_duplicate_rows",
            "errors",
            "rows",
            "rows_truncated",
            "profile",
            "expense_count",
            "income_count",
            "created_at",
            "committed_at",
            "error",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "error": {"help_text": "Why a queued commit or undo failed (status `failed`)."}
        }

    # A batch read through `selectors.batches_with_rows_head` carries its first rows and
    # their number, cut in the database; one built in memory (a preview) has `rows`.

    def get_rows(self, batch: ImportBatch) -> list[dict[str, Any]]:
        if hasattr(batch, "rows_head"):
            head = batch.rows_head
            if batch.rows_columns is not None:  # the columnar form (`imports.rowstore`)
                head = [dict(zip(batch.rows_columns, values, strict=True)) for values in head]
        else:
            head = head_rows(batch.rows, PREVIEW_ROWS_SHOWN)
        return ImportRowSerializer(head, many=True).data

    def get_rows_truncated(self, batch: ImportBatch) -> bool:
        count = batch.rows_count if hasattr(batch, "rows_count") else row_count(batch.rows)
        return count > PREVIEW_ROWS_SHOWN

    @extend_schema_field(AppliedProfileSerializer(allow_null=True))
    def get_profile(self, batch: ImportBatch) -> dict[str, Any] | None:
        if batch.profile is None:
            return None
        return {
            "id": batch.profile.pk,
            "name": batch.profile.name,
            "matched_by": batch.profile_matched_by,
        }


class ImportBatchListSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportBatch
        fields = [
            "id",
            "status",
            "format",
            "filename",
            "total_rows",
            "new_rows",
            "duplicate_rows",
            "possible_duplicate_rows",
            "expense_count",
            "income_count",
            "created_at",
            "committed_at",
            "error",
        ]
        read_only_fields = fields


class CommitSerializer(StrictSerializer):
    skip_errors = serializers.BooleanField(default=False)
    keep_lines = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**31 - 1),
        required=False,
        default=list,
        max_length=100_000,
        help_text="Lines of possible duplicates to store anyway (they are skipped otherwise).",
    )


class CommitResultSerializer(serializers.Serializer):
    expenses = serializers.IntegerField()
    incomes = serializers.IntegerField()
    duplicates_skipped = serializers.IntegerField()
    possible_duplicates_skipped = serializers.IntegerField()
    kept = serializers.IntegerField(help_text="Possible duplicates stored by `keep_lines`.")
    errors_skipped = serializers.IntegerField()


class UndoResultSerializer(serializers.Serializer):
    expenses = serializers.IntegerField()
    incomes = serializers.IntegerField()


# The upload options a profile can save: those the upload takes that are CSV/XLSX
# options, validated by the upload serializer's own fields.
PROFILE_OPTIONS = tuple(
    option.name
    for option in dataclass_fields(CsvOptions)
    if option.name in ImportUploadSerializer._declared_fields
)


def csv_options(options: dict[str, Any]) -> CsvOptions:
    """Saved or given options (validated) as the parsers take them."""
    return CsvOptions(**{name: options[name] for name in PROFILE_OPTIONS if name in options})


@extend_schema_field(
    {
        "type": "object",
        "description": "CSV/XLSX upload options, as POST /imports/ takes them: "
        + ", ".join(PROFILE_OPTIONS)
        + " (`columns` as a JSON object).",
        "additionalProperties": True,
    }
)
class ProfileOptionsField(serializers.Field):
    """A JSON object of upload options (or a string holding one, from a multipart form),
    validated by `ImportUploadSerializer`'s fields; unknown names are refused."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, str):
            try:
                data = load_json(data)
            except ValueError:
                raise serializers.ValidationError("Must be a JSON object.") from None
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        unknown = sorted(set(data) - set(PROFILE_OPTIONS))
        if unknown:
            raise serializers.ValidationError(
                f"Unknown options: {', '.join(unknown)[:300]}. "
                f"Options: {', '.join(PROFILE_OPTIONS)}."
            )
        upload = ImportUploadSerializer(partial=True)
        given = {}
        for name, value in data.items():
            field = upload.fields[name]
            if isinstance(field, serializers.CharField) and isinstance(value, dict | list):
                value = json.dumps(value)  # `columns` travels as JSON text in a form
            given[name] = value
        checker = ImportUploadSerializer(data=given, partial=True)
        if not checker.is_valid():
            raise serializers.ValidationError(
                [
                    f"{name}: {' '.join(str(m) for m in messages)}"
                    for name, messages in checker.errors.items()
                ]
            )
        return {name: checker.validated_data[name] for name in given}

    def to_representation(self, value: dict[str, Any]) -> dict[str, Any]:
        return value


class ImportProfileSerializer(StrictModelSerializer):
    """A saved mapping. Its header (and fingerprint) comes from a `sample` file read with
    the profile's options, or from the import named by `from_batch` (whose options are
    copied too, under any given)."""

    options = ProfileOptionsField(required=False)
    sample = serializers.FileField(
        write_only=True,
        required=False,
        help_text="A statement of this layout (CSV or XLSX): its header row is remembered.",
    )
    from_batch = BookPrimaryKeyRelatedField(
        write_only=True,
        required=False,
        queryset=ImportBatch.objects.defer("rows"),
        help_text="An import of this book (CSV or XLSX) whose options and header to copy.",
    )

    class Meta:
        model = ImportProfile
        fields = [
            "id",
            "name",
            "options",
            "header",
            "header_fingerprint",
            "sample",
            "from_batch",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "header", "header_fingerprint", "created_at", "updated_at"]
        extra_kwargs = {
            "header": {"help_text": "The header row files are recognised by (normalised)."},
            "header_fingerprint": {
                "help_text": "SHA-256 of the normalised header cells; empty when none."
            },
        }

    def validate_name(self, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise serializers.ValidationError("Give the profile a name.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        sample, batch = attrs.pop("sample", None), attrs.pop("from_batch", None)
        if sample is not None and batch is not None:
            raise serializers.ValidationError(
                {"from_batch": ["Give a sample file or an import to copy, not both."]}
            )
        if self.instance is None and "options" not in attrs and batch is None:
            attrs["options"] = {}
        if batch is not None:
            try:
                copied, header = profile_source_batch(batch)
            except StatementError as exc:
                raise serializers.ValidationError({"from_batch": [str(exc)]}) from None
            attrs["options"] = {**copied, **attrs.get("options", {})}
            attrs["header"] = header
        if sample is not None:
            if sample.size is not None and sample.size > settings.IMPORT_MAX_BYTES:
                raise serializers.ValidationError(
                    {"sample": [f"At most {settings.IMPORT_MAX_BYTES} bytes."]}
                )
            options = attrs.get("options", getattr(self.instance, "options", {}))
            try:
                attrs["header"] = sample_header(
                    sample.read(), filename=sample.name or "", options=csv_options(options)
                )
            except StatementError as exc:
                raise serializers.ValidationError({"sample": [str(exc)]}) from None
        return attrs
