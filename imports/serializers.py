"""Upload options (multipart form) and the batch's preview shape."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.parsers import load_json
from core.serializers import CurrencyCodeField

from .models import ImportBatch
from .parsers.columns import MAX_COLUMN_INDEX, ROLES
from .parsers.encodings import text_codec
from .parsers.table import date_format_problem

FORMATS = ["auto", "csv", "ofx", "qfx", "qif", "xlsx"]
COLUMN_ROLES = frozenset(ROLES)  # the roles the table parser understands


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The statement (CSV, OFX, QFX, QIF or XLSX).")
    format = serializers.ChoiceField(choices=FORMATS, default="auto")
    default_currency = CurrencyCodeField(
        required=False,
        help_text="Currency of rows whose file does not say (default: your base currency).",
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


class ImportRowSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    date = serializers.DateField()
    description = serializers.CharField()
    amount = serializers.CharField(help_text="Positive; `kind` says which way the money went.")
    kind = serializers.ChoiceField(choices=["expense", "income"])
    currency = serializers.CharField()
    merchant = serializers.CharField(allow_blank=True)
    suggested_category = serializers.IntegerField(allow_null=True)
    suggested_category_name = serializers.CharField(allow_null=True)
    duplicate = serializers.BooleanField()


class ImportBatchSerializer(serializers.ModelSerializer):
    errors = ImportErrorSerializer(many=True)
    rows = serializers.SerializerMethodField()
    rows_truncated = serializers.SerializerMethodField()

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
            "errors",
            "rows",
            "rows_truncated",
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

    def get_rows(self, batch: ImportBatch) -> list[dict[str, Any]]:
        from .services import PREVIEW_ROWS_SHOWN

        return ImportRowSerializer(batch.rows[:PREVIEW_ROWS_SHOWN], many=True).data

    def get_rows_truncated(self, batch: ImportBatch) -> bool:
        from .services import PREVIEW_ROWS_SHOWN

        return len(batch.rows) > PREVIEW_ROWS_SHOWN


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
            "expense_count",
            "income_count",
            "created_at",
            "committed_at",
            "error",
        ]
        read_only_fields = fields


class CommitSerializer(serializers.Serializer):
    skip_errors = serializers.BooleanField(default=False)


class CommitResultSerializer(serializers.Serializer):
    expenses = serializers.IntegerField()
    incomes = serializers.IntegerField()
    duplicates_skipped = serializers.IntegerField()
    errors_skipped = serializers.IntegerField()


class UndoResultSerializer(serializers.Serializer):
    expenses = serializers.IntegerField()
    incomes = serializers.IntegerField()
