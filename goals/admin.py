from django.contrib import admin

from .models import Contribution, Goal


class ContributionInline(admin.TabularInline):
    """Read-only: contributions are written through the API, whose services keep the
    saved amount from going below 0 and the goal's status in step."""

    model = Contribution
    fields = ("date", "amount", "note", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-date", "-id")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Goal)
class GoalAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "target_amount", "target_date", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("name", "notes", "user__username", "user__email")
    list_select_related = ("user",)
    readonly_fields = ("user", "status", "created_at", "updated_at")
    inlines = [ContributionInline]
