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
