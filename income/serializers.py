from typing import Any

from ledger.serializers import LeanList, RecategorizeSerializer, TransactionSerializer

from .models import Income


class IncomeSerializer(TransactionSerializer):
    kind = "income"

    class Meta:
        model = Income
        fields = [*TransactionSerializer.base_fields, "source"]
        extra_kwargs = {"source": {"trim_whitespace": True}}


class IncomeRecategorizeSerializer(RecategorizeSerializer):
    kind = "income"


class IncomeLeanList(LeanList):
    """The income list page without DRF's per-field work (see `LeanList`)."""

    serializer_class = IncomeSerializer
    extra_columns = ("source",)

    def extra_fields(self, data: dict[str, Any], row: dict[str, Any], related: Any) -> None:
        data["source"] = row["source"]
