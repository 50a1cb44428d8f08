"""Admin for bank connections. The access URL (the secret) is never on any admin page:
it is excluded from the form and from every column, and nothing here can set it — a
connection is made by claiming a setup token through the API."""

from django.contrib import admin
from django.http import HttpRequest

from .models import Connection, ConnectionAccount


class ConnectionAccountInline(admin.TabularInline):
    model = ConnectionAccount
    extra = 0
    can_delete = False
    fields = ("remote_id", "name", "org_name", "currency", "balance", "book", "synced_until")
    readonly_fields = ("remote_id", "name", "org_name", "currency", "balance", "synced_until")
    raw_id_fields = ("book",)
    show_change_link = True


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "name", "kind", "status", "sync_state", "last_sync_at")
    list_filter = ("kind", "status", "sync_state")
    search_fields = ("name", "user__username", "user__email")
    list_select_related = ("user",)
    exclude = ("access_url",)
    readonly_fields = (
        "user",
        "kind",
        "status",
        "sync_state",
        "sync_requested_at",
        "last_sync_at",
        "last_success_at",
        "last_error",
        "last_error_code",
        "error_episode",
        "last_sync_summary",
        "created_at",
        "updated_at",
    )
    inlines = [ConnectionAccountInline]

    def get_queryset(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        # The secret is not even decrypted for an admin page.
        return super().get_queryset(request).defer("access_url")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ConnectionAccount)
class ConnectionAccountAdmin(admin.ModelAdmin):
    list_display = ("id", "connection", "name", "org_name", "currency", "book", "synced_until")
    search_fields = ("name", "org_name", "remote_id", "connection__user__username")
    list_select_related = ("connection", "book")
    raw_id_fields = ("connection", "book")
    readonly_fields = ("remote_id", "balance", "available_balance", "balance_date", "listed")

    def get_queryset(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        # The connection's secret is not even decrypted for a list of accounts.
        return (
            super()
            .get_queryset(request)
            .select_related("connection", "book")
            .defer("connection__access_url")
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
