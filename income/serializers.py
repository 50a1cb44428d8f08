from ledger.serializers import RecategorizeSerializer, TransactionSerializer

from .models import Income


class IncomeSerializer(TransactionSerializer):
    kind = "income"

    class Meta:
        model = Income
        fields = [*TransactionSerializer.base_fields, "source"]
        extra_kwargs = {"source": {"trim_whitespace": True}}


class IncomeRecategorizeSerializer(RecategorizeSerializer):
    kind = "income"
