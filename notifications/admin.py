from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Notification, NotificationPreference


class ReadFilter(admin.SimpleListFilter):
    title = "read"
    parameter_name = "read"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        return [("yes", "Read"), ("no", "Unread")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(read_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(read_at__isnull=True)
        return queryset


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Notifications are written by the system (services.notify); admins read, fix or delete."""

    list_display = ("user", "kind", "title", "created_at", "read_at", "in_app", "emailed_at")
    list_display_links = ("title",)
    list_filter = ("kind", "in_app", ReadFilter)
    search_fields = ("title", "body", "user__username")
    list_select_related = ("user",)
    readonly_fields = ("user", "created_at", "updated_at", "emailed_at", "dedupe_key")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "in_app", "email")
    list_filter = ("kind", "in_app", "email")
    search_fields = ("user__username",)
    list_select_related = ("user",)
    raw_id_fields = ("user",)
