"""Routes of this app, registered on the single /api/v1/ router."""

from .views import NotificationViewSet

routes = [("notifications", NotificationViewSet, "notification")]
urlpatterns: list = []
