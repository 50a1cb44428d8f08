from django.contrib import admin

from core.admin import money_column

from .models import Settlement


@admin.register(Settlement)
class SettlementAdmin(admin.ModelAdmin):
    """Read-only: settlements are written through the API, whose service checks both
    people are members and converts the amount into the book's base currency."""

    list_display = (
        "date",
        "book",
        "from_user",
        "to_user",
        "amount_shown",
        "base_amount_shown",
        "note",
    )
    list_filter = ("currency",)
    search_fields = ("note", "book__name", "from_user__username", "to_user__username")
    list_select_related = ("book", "from_user", "to_user")
    date_hierarchy = "date"
    readonly_fields = (
        "book",
        "user",
        "from_user",
        "to_user",
        "amount_shown",
        "base_amount_shown",
        "exchange_rate",
        "date",
        "note",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields

    amount_shown = money_column("amount", "currency", description="amount")
    base_amount_shown = money_column(
        "base_amount", "book__base_currency", description="in base currency"
    )

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
