from django_filters import rest_framework as filters

from ledger.filters import TransactionFilter

from .models import Income


class IncomeFilter(TransactionFilter):
    source = filters.CharFilter(lookup_expr="icontains", label="Source contains (case-insensitive)")

    class Meta:
        model = Income
        fields: list[str] = []
