from django.contrib import admin

from .models import ImportBatch, ImportProfile


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "user",
        "filename",
        "format",
        "status",
        "total_rows",
        "new_rows",
        "duplicate_rows",
        "possible_duplicate_rows",
        "created_at",
    )
    list_filter = ("status", "format")
    search_fields = ("filename", "user__username", "user__email")
    list_select_related = ("user",)
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


@admin.register(ImportProfile)
class ImportProfileAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "name", "header_fingerprint", "updated_at")
    search_fields = ("name", "user__username", "user__email")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    readonly_fields = ("header", "header_fingerprint")
