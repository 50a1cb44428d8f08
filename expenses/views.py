from typing import Any

from django.db.models import QuerySet

from books.models import Book
from core.schema import crud_schema, request_example
from ledger.views import TransactionViewSet, recategorize_schema, request_schema

from . import services
from .filters import ExpenseFilter
from .models import Expense
from .serializers import ExpenseLeanList, ExpenseRecategorizeSerializer, ExpenseSerializer

EXPENSE = {
    "amount": "42.80",
    "currency": "EUR",
    "date": "2026-03-14",
    "description": "Weekly groceries",
    "category": 2,
    "payment_method": "card",
    "merchant": "Corner Market",
    "notes": "Bought extra for the weekend.",
    "tags": ["household"],
}
SPLITS = (
    " In a shared book (`/books/{book_id}/expenses/`) an expense also has `paid_by` (a "
    "member's user id; default: you) and `split`: `{mode: equal|shares|exact|percent, "
    "parts: [{user, value}]}` — `equal` needs no values (no parts: every current member), "
    "`shares` positive weights, `exact` amounts in the expense currency summing to the "
    "amount, `percent` values summing to 100; parts name members, each once. Without "
    "`split` the book's default split applies (else equal among all members). The answer "
    "shows each part's `amount` and `base_amount`, which sum exactly to the expense's "
    "`amount` and `base_amount` (odd cents by largest remainder, ties to the lower user "
    "id). A part for a non-member, a payer who is not a member, or a split or payer on a "
    "personal book's expense is a 400 naming `split` or `paid_by`."
)
UPDATE_SPLITS = (
    " In a shared book, without `split` the expense keeps its split, re-split for a new "
    "amount, currency or date (an `exact` split that no longer adds up is a 400: send new "
    "parts); `split: null` puts it back on the book's default split; `paid_by` alone "
    "changes only the payer."
)
EDIT_WINDOW = (
    " When `EXPENSE_EDIT_WINDOW_HOURS` is set, an expense created longer ago than that is "
    "locked: 403 `edit_window_closed` (Admins bypass it)."
)


@recategorize_schema(ExpenseRecategorizeSerializer, "expenses", 2)
@request_schema(ExpenseSerializer)
@crud_schema(
    ExpenseSerializer,
    docs={
        "list": (
            "List your expenses",
            "Newest first (`-date,-id`), paged by cursor: follow `next`; `count` is capped at "
            "10 000. Filters: `start_date`/`end_date` (inclusive) or `month`, `category` "
            "(repeatable), `uncategorized=true`, `tag`, `min_amount`/`max_amount`, "
            "`payment_method`, `currency`, `merchant`; `search` looks in description, "
            "merchant and notes; `ordering` by `date`, `amount` or `created_at`. The same "
            "filters select what `GET /export/expenses.csv` writes.",
        ),
        "create": (
            "Record an expense",
            "`amount`, `date` and `description` are required. `currency` defaults to the "
            "book's base currency (your personal book's on the top-level path); "
            "`base_amount` and `exchange_rate` are computed in it from the rate on or before "
            "`date` (no rate → 400 naming the pair). `category` must be an expense category "
            "of the book or a system one (`GET /categories/?kind=expense`; another book's "
            "→ 400); without one, the book's first matching rule (`/rules/`) may set it. "
            "`tags` are names of the book's tags, created when new. Attach a `receipt` "
            "(image or PDF, ≤ 5 MB) by sending the same fields as `multipart/form-data`. "
            "May notify the book's members when a budget passes its warning level or is "
            "exceeded." + SPLITS,
        ),
        "retrieve": (
            "Get one of your expenses",
            "The expense with its base-currency amount, category name and tags (in a "
            "shared book also `paid_by` and `split` with each member's part); its receipt "
            "file is at `GET /expenses/{id}/receipt/`.",
        ),
        "update": (
            "Replace an expense",
            "Every writable field as for `POST /expenses/`; `base_amount` is recomputed "
            "when the amount, currency or date changes." + UPDATE_SPLITS + EDIT_WINDOW,
        ),
        "partial_update": (
            "Change some fields of an expense",
            "Only the fields sent change; send `receipt: null` to remove the receipt, or a "
            "new file as `multipart/form-data`." + UPDATE_SPLITS + EDIT_WINDOW,
        ),
        "destroy": (
            "Delete an expense",
            "Deletes the expense and its receipt file; budget figures follow at once."
            + EDIT_WINDOW,
        ),
    },
    examples={
        "create": [request_example(EXPENSE)],
        "update": [request_example(EXPENSE)],
        "partial_update": [request_example({"amount": "39.90", "tags": ["household", "weekend"]})],
    },
)
class ExpenseViewSet(TransactionViewSet):
    """The expenses of the request's book (`/expenses/`: the caller's personal book;
    `/books/{book_id}/expenses/`: that book). Filters, search (description, merchant,
    notes) and ordering."""

    queryset = Expense.objects.all()
    serializer_class = ExpenseSerializer
    lean_list_class = ExpenseLeanList
    recategorize_serializer_class = ExpenseRecategorizeSerializer
    filterset_class = ExpenseFilter
    search_fields = ["description", "merchant", "notes"]

    def safely_get_queryset(self, queryset: QuerySet) -> QuerySet:
        return super().safely_get_queryset(queryset).prefetch_related("shares")

    def check_editable(self, instance: Expense) -> None:
        services.expense_check_edit_window(expense=instance, actor=self.request.user)

    def create_record(self, *, book: Book, user: Any, data: dict[str, Any]) -> Expense:
        return services.expense_create(book=book, user=user, data=data)

    def update_record(self, *, instance: Expense, user: Any, data: dict[str, Any]) -> Expense:
        return services.expense_update(expense=instance, user=user, data=data)

    def delete_record(self, *, instance: Expense) -> None:
        services.expense_delete(expense=instance)

    def recategorize_records(self, *, book: Book, user: Any, ids: list[int], category: Any) -> int:
        return services.expenses_recategorize(book=book, ids=ids, category=category, actor=user)
