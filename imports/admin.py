from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import truncated_column

from .models import ImportBatch, ImportProfile


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    # The book holds the batch (SPEC §14); who uploaded it is on the change page.
    list_display = ("id", "book", "filename_short", "format", "status", "row_counts", "created_at")
    list_filter = ("status", "format")
    search_fields = ("filename", "book__name", "user__username", "user__email")
    list_select_related = ("book",)
    raw_id_fields = ("user", "profile")
    exclude = ("rows",)
    readonly_fields = (
        "errors",
        "committed_at",
        "expense_count",
        "income_count",
        "possible_duplicate_rows",
        "keep_lines",
        "options",
        "header",
        "profile_matched_by",
    )

    filename_short = truncated_column("filename", 40)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The parsed rows (up to the import's row limit) are never shown here.
        return super().get_queryset(request).defer("rows")

    @admin.display(description="rows", ordering="total_rows")
    def row_counts(self, obj: ImportBatch) -> str:
        """`16 (12 new, 3 dup, 1 possible)`: one short cell instead of four columns."""
        return (
            f"{obj.total_rows} ({obj.new_rows} new, {obj.duplicate_rows} dup, "
            f"{obj.possible_duplicate_rows} possible)"
        )


@admin.register(ImportProfile)
class ImportProfileAdmin(admin.ModelAdmin):
    list_display = ("id", "book", "user", "name", "fingerprint_short", "updated_at")
    search_fields = ("name", "book__name", "user__username", "user__email")
    list_select_related = ("book", "user")
    raw_id_fields = ("user",)
    readonly_fields = ("header", "header_fingerprint")

    fingerprint_short = truncated_column("header_fingerprint", 12, description="fingerprint")
