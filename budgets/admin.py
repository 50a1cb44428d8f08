from django.contrib import admin

from core.admin import money_column

from .models import Budget


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    list_display = ("month", "book", "user", "scope", "category", "amount_shown", "rollover")
    list_filter = ("scope", "rollover", "month")
    search_fields = ("book__name", "user__username", "user__email", "category__name")
    list_select_related = ("book", "user", "category")
    raw_id_fields = ("user", "category")
    readonly_fields = ("amount_original_shown",)
    date_hierarchy = "month"
    show_full_result_count = False

    # Budgets are in their book's base currency; the amount as last written keeps its own.
    amount_shown = money_column("amount", "book__base_currency")
    amount_original_shown = money_column(
        "amount_original", "currency_original", description="amount as written"
    )
