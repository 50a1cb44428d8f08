from django.contrib import admin

from .models import Budget


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    list_display = ("month", "user", "scope", "category", "amount", "rollover", "warn_threshold")
    list_filter = ("scope", "rollover", "month")
    search_fields = ("user__username", "user__email", "category__name")
    list_select_related = ("user", "category")
    raw_id_fields = ("user", "category")
    date_hierarchy = "month"
