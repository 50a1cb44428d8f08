from django.urls import path

from . import views

routes: list = []
# Files, so no trailing slash: the name ends with the format.
urlpatterns = [
    path("export/expenses.csv", views.ExpensesCsvView.as_view(), name="export-expenses-csv"),
    path("export/incomes.csv", views.IncomesCsvView.as_view(), name="export-incomes-csv"),
    path(
        "export/transactions.xlsx",
        views.TransactionsXlsxView.as_view(),
        name="export-transactions-xlsx",
    ),
    path("export/report.pdf", views.ReportPdfView.as_view(), name="export-report-pdf"),
]
# Only a shared book has balances and settlements (SPEC §15): served under
# /books/{book_id}/ only.
book_urlpatterns = [
    path("export/balances.csv", views.BalancesCsvView.as_view(), name="export-balances-csv"),
    path(
        "export/settlements.csv",
        views.SettlementsCsvView.as_view(),
        name="export-settlements-csv",
    ),
]
