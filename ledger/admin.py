"""Admin options shared by the expense and income admins."""

from django.contrib import admin

from core.admin import money_column, truncated_column


class TransactionAdmin(admin.ModelAdmin):
    list_display = (
        "date",
        "description_short",
        "amount_shown",
        "base_amount_shown",
        "category",
        "user",
    )
    list_filter = ("currency", "date", ("category", admin.RelatedOnlyFieldListFilter))
    search_fields = ("description", "notes", "book__name", "user__username", "user__email")
    date_hierarchy = "date"
    list_select_related = ("category", "user", "book")
    raw_id_fields = ("user", "category")
    readonly_fields = ("base_amount_shown", "exchange_rate", "created_at", "updated_at")
    exclude = ("base_amount",)
    filter_horizontal = ("tags",)
    # Counting every row of a large table on each page load is a full scan.
    show_full_result_count = False

    description_short = truncated_column("description", 40)
    amount_shown = money_column("amount", "currency")
    base_amount_shown = money_column(
        "base_amount", "book__base_currency", description="base amount"
    )
