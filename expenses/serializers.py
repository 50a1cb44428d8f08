from ledger.serializers import TransactionSerializer

from .models import Expense


class ExpenseSerializer(TransactionSerializer):
    kind = "expense"

    class Meta:
        model = Expense
        fields = [*TransactionSerializer.base_fields, "payment_method", "merchant"]
        extra_kwargs = {"merchant": {"trim_whitespace": True}}
