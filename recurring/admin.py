from django.contrib import admin

from core.admin import money_column, truncated_column

from .models import RecurringItem, RecurringOccurrence


@admin.register(RecurringItem)
class RecurringItemAdmin(admin.ModelAdmin):
    list_display = (
        "description_short",
        "book",
        "kind",
        "amount_shown",
        "schedule",
        "start_date",
        "active",
    )
    list_filter = ("kind", "frequency", "active", "auto_create")
    search_fields = ("description", "merchant", "book__name", "user__username", "user__email")
    list_select_related = ("book", "user")
    raw_id_fields = ("category",)
    readonly_fields = ("book", "user", "created_at", "updated_at")
    date_hierarchy = "start_date"

    description_short = truncated_column("description", 40)
    amount_shown = money_column("amount", "currency")

    @admin.display(description="schedule", ordering="frequency")
    def schedule(self, obj: RecurringItem) -> str:
        """`monthly`, or `every 2 × weekly` when the interval is more than one."""
        if obj.interval == 1:
            return obj.get_frequency_display().lower()
        return f"every {obj.interval} × {obj.get_frequency_display().lower()}"


@admin.register(RecurringOccurrence)
class RecurringOccurrenceAdmin(admin.ModelAdmin):
    """The jobs' log: read it here, but let the jobs write it (it is what keeps each
    occurrence from being created twice)."""

    list_display = (
        "item_short",
        "item_amount_shown",
        "date",
        "record",
        "fulfilled_at",
        "reminded_at",
    )
    list_filter = (("fulfilled_at", admin.EmptyFieldListFilter), "date")
    search_fields = ("item__description", "item__user__username")
    list_select_related = ("item",)
    raw_id_fields = ("item", "expense", "income")
    readonly_fields = ("created_at",)
    date_hierarchy = "date"
    show_full_result_count = False

    item_short = truncated_column("item__description", 40, description="item")
    item_amount_shown = money_column("item__amount", "item__currency", description="amount")

    @admin.display(description="created record")
    def record(self, obj: RecurringOccurrence) -> str | None:
        """The record the occurrence created, by id (no join: the log can be long)."""
        if obj.expense_id:
            return f"expense #{obj.expense_id}"
        if obj.income_id:
            return f"income #{obj.income_id}"
        return None
