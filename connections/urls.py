"""Routes of this app, registered on the single /api/v1/ router (top level only: a
connection belongs to a user, not to a book)."""

from .views import ConnectionViewSet

routes = [("connections", ConnectionViewSet, "connection")]
urlpatterns: list = []
