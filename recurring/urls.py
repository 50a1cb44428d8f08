"""Routes of this app on the single /api/v1/ router."""

from .views import RecurringItemViewSet

routes = [("recurring", RecurringItemViewSet, "recurring")]
urlpatterns: list = []
