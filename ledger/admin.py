"""Admin options shared by the expense and income admins."""

from django.contrib import admin


class TransactionAdmin(admin.ModelAdmin):
    list_display = ("date", "description", "amount", "currency", "base_amount", "category", "user")
    list_filter = ("currency", "date", ("category", admin.RelatedOnlyFieldListFilter))
    search_fields = ("description", "notes", "user__username", "user__email")
    date_hierarchy = "date"
    list_select_related = ("category", "user")
    raw_id_fields = ("user", "category")
    readonly_fields = ("base_amount", "exchange_rate", "created_at", "updated_at")
    filter_horizontal = ("tags",)
