from django.contrib import admin

from .models import Webhook, WebhookDelivery


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    """Read-only, and never the secret: hooks are managed by their book's owners through
    the API, whose service checks the URL (SSRF) and keeps the secret encrypted."""

    list_display = ("id", "book", "url", "is_active", "consecutive_failures", "last_success_at")
    list_filter = ("is_active",)
    search_fields = ("url", "description", "book__name")
    list_select_related = ("book",)
    readonly_fields = (
        "book",
        "user",
        "url",
        "events",
        "description",
        "secret_hint",
        "previous_secret_until",
        "is_active",
        "disabled_at",
        "disabled_reason",
        "failing_since",
        "consecutive_failures",
        "last_success_at",
        "last_failure_at",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """Read-only: the log of what was sent; replays go through the API."""

    list_display = (
        "id",
        "webhook",
        "event",
        "status",
        "attempt_count",
        "last_status_code",
        "created_at",
    )
    list_filter = ("status", "event")
    search_fields = ("event_id", "webhook__url")
    list_select_related = ("webhook",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "webhook",
        "event",
        "event_id",
        "status",
        "attempt_count",
        "last_status_code",
        "last_duration_ms",
        "last_error",
        "last_attempt_at",
        "next_attempt_at",
        "attempts",
        "replay_of",
        "body",
        "created_at",
    )
    fields = readonly_fields

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
