"""Routes of this app: only books have them (SPEC §15), so none at the top level.

`book_routes` (viewsets) and `book_urlpatterns` (plain paths) are served under
`/api/v1/books/{book_id}/` only (budget_tracker/api_urls.py).
"""

from django.urls import path

from .views import BalancesView, SettlementViewSet, SettleUpView

routes: list = []
urlpatterns: list = []
book_routes = [("settlements", SettlementViewSet, "settlement")]
book_urlpatterns = [
    path("balances/", BalancesView.as_view(), name="book-balances"),
    path("settle-up/", SettleUpView.as_view(), name="book-settle-up"),
]
