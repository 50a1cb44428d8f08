from django.contrib import admin

from .models import ExchangeRate


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    list_display = ["base", "quote", "date", "rate", "source"]
    list_filter = ["base", "quote", "source"]
    search_fields = ["base", "quote", "source"]
    date_hierarchy = "date"
    ordering = ["-date", "base", "quote"]
    readonly_fields = ["created_at", "updated_at"]
    # ~190 000 bundled ECB rates: counting them on every page load is a full scan.
    show_full_result_count = False
