from django.contrib import admin

from .models import Book, Invitation, Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Book)
class BookAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "kind", "base_currency", "month_start_day", "created_at"]
    list_filter = ["kind", "base_currency"]
    search_fields = ["name", "memberships__user__username"]
    raw_id_fields = ["personal_owner"]
    inlines = [MembershipInline]
    show_full_result_count = False


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["id", "book", "email", "role", "expires_at", "accepted_at", "revoked_at"]
    list_select_related = ["book"]
    search_fields = ["email", "book__name"]
    readonly_fields = ["token_hash"]
    raw_id_fields = ["book", "invited_by", "accepted_by"]
