from typing import Any

from books.models import Book
from core.schema import crud_schema, request_example
from ledger.views import TransactionViewSet, recategorize_schema, request_schema

from . import services
from .filters import IncomeFilter
from .models import Income
from .serializers import IncomeLeanList, IncomeRecategorizeSerializer, IncomeSerializer

INCOME = {
    "amount": "3200.00",
    "currency": "EUR",
    "date": "2026-03-25",
    "description": "March salary",
    "category": 12,
    "source": "Acme GmbH",
    "notes": "",
    "tags": ["payroll"],
}


@recategorize_schema(IncomeRecategorizeSerializer, "income records", 12)
@request_schema(IncomeSerializer)
@crud_schema(
    IncomeSerializer,
    docs={
        "list": (
            "List your income",
            "Newest first (`-date,-id`), paged by cursor: follow `next`; `count` is capped at "
            "10 000. Filters: `start_date`/`end_date` (inclusive) or `month`, `category` "
            "(repeatable), `uncategorized=true`, `tag`, `min_amount`/`max_amount`, "
            "`currency`; `search` looks in description, source and notes; `ordering` by "
            "`date`, `amount` or `created_at`. The same filters select what "
            "`GET /export/incomes.csv` writes.",
        ),
        "create": (
            "Record income",
            "`amount`, `date` and `description` are required; `source` (the payer) is "
            "optional. `currency` defaults to the book's base currency (your personal "
            "book's on the top-level path); `base_amount` and `exchange_rate` come from the "
            "rate on or before `date` (no rate → 400 naming the pair). `category` must be "
            "an income category of the book or a system one (`GET /categories/?kind=income`; "
            "another book's → 400); without one, the book's first matching rule may set it. "
            "`tags` are names of the book's tags, created when new. Attach a `receipt` "
            "(image or PDF, ≤ 5 MB) by sending the same fields as `multipart/form-data`.",
        ),
        "retrieve": (
            "Get one income record",
            "The record with its base-currency amount, category name and tags; its "
            "receipt file is at `GET /incomes/{id}/receipt/`.",
        ),
        "update": (
            "Replace an income record",
            "Every writable field as for `POST /incomes/`; `base_amount` is recomputed "
            "when the amount, currency or date changes.",
        ),
        "partial_update": (
            "Change some fields of an income record",
            "Only the fields sent change; send `receipt: null` to remove the receipt, or a "
            "new file as `multipart/form-data`.",
        ),
        "destroy": (
            "Delete an income record",
            "Deletes the record and its receipt file; reports follow at once.",
        ),
    },
    examples={
        "create": [request_example(INCOME)],
        "update": [request_example(INCOME)],
        "partial_update": [request_example({"amount": "3250.00", "source": "Acme GmbH"})],
    },
)
class IncomeViewSet(TransactionViewSet):
    """The income of the request's book (`/incomes/`: the caller's personal book;
    `/books/{book_id}/incomes/`: that book). Filters, search (description, source, notes)
    and ordering."""

    queryset = Income.objects.all()
    serializer_class = IncomeSerializer
    lean_list_class = IncomeLeanList
    recategorize_serializer_class = IncomeRecategorizeSerializer
    filterset_class = IncomeFilter
    search_fields = ["description", "source", "notes"]

    def create_record(self, *, book: Book, user: Any, data: dict[str, Any]) -> Income:
        return services.income_create(book=book, user=user, data=data)

    def update_record(self, *, instance: Income, user: Any, data: dict[str, Any]) -> Income:
        return services.income_update(income=instance, user=user, data=data)

    def delete_record(self, *, instance: Income) -> None:
        services.income_delete(income=instance)

    def recategorize_records(self, *, book: Book, user: Any, ids: list[int], category: Any) -> int:
        return services.incomes_recategorize(book=book, ids=ids, category=category, actor=user)
