"""Routes of this app, registered on the single /api/v1/ router."""

from .views import CategoryViewSet, RuleViewSet, TagViewSet

routes = [
    ("categories", CategoryViewSet, "category"),
    ("tags", TagViewSet, "tag"),
    ("rules", RuleViewSet, "rule"),
]
urlpatterns: list = []
