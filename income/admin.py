from django.contrib import admin

from ledger.admin import TransactionAdmin

from .models import Income


@admin.register(Income)
class IncomeAdmin(TransactionAdmin):
    list_display = (*TransactionAdmin.list_display, "source")
    search_fields = (*TransactionAdmin.search_fields, "source")
