from ledger.serializers import TransactionSerializer

from .models import Income


class IncomeSerializer(TransactionSerializer):
    kind = "income"

    class Meta:
        model = Income
        fields = [*TransactionSerializer.base_fields, "source"]
        extra_kwargs = {"source": {"trim_whitespace": True}}
