"""Routes of this app, registered on the single /api/v1/ router."""

from .views import CategoryViewSet, RuleApplicationViewSet, RuleViewSet, TagViewSet

routes = [
    ("categories", CategoryViewSet, "category"),
    ("tags", TagViewSet, "tag"),
    ("rules", RuleViewSet, "rule"),
    # After "rules": its `apply/` action answers POST; this adds `rules/apply/{id}/`.
    ("rules/apply", RuleApplicationViewSet, "rule-application"),
]
urlpatterns: list = []
