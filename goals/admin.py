from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import money_column

from .models import Contribution, Goal


class ContributionInline(admin.TabularInline):
    """Read-only: contributions are written through the API, whose services keep the
    saved amount from going below 0 and the goal's status in step."""

    model = Contribution
    fields = ("date", "amount_shown", "note", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-date", "-id")

    amount_shown = money_column("amount", "goal__book__base_currency")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("goal__book")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Goal)
class GoalAdmin(admin.ModelAdmin):
    list_display = ("name", "book", "user", "target_amount_shown", "target_date", "status")
    list_filter = ("status",)
    search_fields = ("name", "notes", "book__name", "user__username", "user__email")
    list_select_related = ("book", "user")
    readonly_fields = (
        "book",
        "user",
        "status",
        "target_amount_original_shown",
        "created_at",
        "updated_at",
    )
    inlines = [ContributionInline]

    # Goals are in their book's base currency; the target as last written keeps its own.
    target_amount_shown = money_column("target_amount", "book__base_currency", description="target")
    target_amount_original_shown = money_column(
        "target_amount_original", "currency_original", description="target as written"
    )
