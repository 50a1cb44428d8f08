from django.contrib import admin

from .models import RecurringItem, RecurringOccurrence


@admin.register(RecurringItem)
class RecurringItemAdmin(admin.ModelAdmin):
    list_display = (
        "description",
        "user",
        "kind",
        "amount",
        "currency",
        "frequency",
        "interval",
        "start_date",
        "end_date",
        "auto_create",
        "active",
    )
    list_filter = ("kind", "frequency", "active", "auto_create")
    search_fields = ("description", "merchant", "user__username", "user__email")
    list_select_related = ("user",)
    raw_id_fields = ("category",)
    readonly_fields = ("user", "created_at", "updated_at")
    date_hierarchy = "start_date"


@admin.register(RecurringOccurrence)
class RecurringOccurrenceAdmin(admin.ModelAdmin):
    """The jobs' log: read it here, but let the jobs write it (it is what keeps each
    occurrence from being created twice)."""

    list_display = ("item", "date", "expense", "income", "fulfilled_at", "reminded_at")
    list_filter = (("fulfilled_at", admin.EmptyFieldListFilter), "date")
    search_fields = ("item__description", "item__user__username")
    list_select_related = ("item",)
    raw_id_fields = ("item", "expense", "income")
    readonly_fields = ("created_at",)
    date_hierarchy = "date"
