from typing import Any

from core.schema import crud_schema
from ledger.views import TransactionViewSet

from . import services
from .filters import ExpenseFilter
from .models import Expense
from .serializers import ExpenseSerializer


@crud_schema(ExpenseSerializer)
class ExpenseViewSet(TransactionViewSet):
    """The user's expenses. Filters, search (description, merchant, notes) and ordering."""

    queryset = Expense.objects.all()
    serializer_class = ExpenseSerializer
    filterset_class = ExpenseFilter
    search_fields = ["description", "merchant", "notes"]

    def check_editable(self, instance: Expense) -> None:
        services.expense_check_edit_window(expense=instance, actor=self.request.user)

    def create_record(self, *, user: Any, data: dict[str, Any]) -> Expense:
        return services.expense_create(user=user, data=data)

    def update_record(self, *, instance: Expense, data: dict[str, Any]) -> Expense:
        return services.expense_update(expense=instance, data=data)

    def delete_record(self, *, instance: Expense) -> None:
        services.expense_delete(expense=instance)
