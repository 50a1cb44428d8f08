from django.contrib import admin

from ledger.admin import TransactionAdmin

from .models import Expense


@admin.register(Expense)
class ExpenseAdmin(TransactionAdmin):
    list_display = (*TransactionAdmin.list_display, "payment_method")
    list_filter = (*TransactionAdmin.list_filter, "payment_method")
    search_fields = (*TransactionAdmin.search_fields, "merchant")
