from django_filters import rest_framework as filters

from ledger.filters import TransactionFilter

from .models import Expense, PaymentMethod


class ExpenseFilter(TransactionFilter):
    payment_method = filters.ChoiceFilter(choices=PaymentMethod.choices)
    merchant = filters.CharFilter(
        lookup_expr="icontains", label="Merchant contains (case-insensitive)"
    )

    class Meta:
        model = Expense
        fields: list[str] = []
