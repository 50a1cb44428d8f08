from typing import Any

from core.schema import crud_schema
from ledger.views import TransactionViewSet

from . import services
from .filters import IncomeFilter
from .models import Income
from .serializers import IncomeSerializer


@crud_schema(IncomeSerializer)
class IncomeViewSet(TransactionViewSet):
    """The user's income. Filters, search (description, source, notes) and ordering."""

    queryset = Income.objects.all()
    serializer_class = IncomeSerializer
    filterset_class = IncomeFilter
    search_fields = ["description", "source", "notes"]

    def create_record(self, *, user: Any, data: dict[str, Any]) -> Income:
        return services.income_create(user=user, data=data)

    def update_record(self, *, instance: Income, data: dict[str, Any]) -> Income:
        return services.income_update(income=instance, data=data)

    def delete_record(self, *, instance: Income) -> None:
        services.income_delete(income=instance)
