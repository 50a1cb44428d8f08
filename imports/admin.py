from django.contrib import admin

from .models import ImportBatch


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
        "created_at",
    )
    list_filter = ("status", "format")
    search_fields = ("filename", "user__username", "user__email")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    exclude = ("rows",)
    readonly_fields = ("errors", "committed_at", "expense_count", "income_count")
