"""Routes of this app: goals on the single /api/v1/ router, contributions nested below."""

from django.urls import path

from .views import ContributionViewSet, GoalViewSet

routes = [("goals", GoalViewSet, "goal")]

contribution_list = ContributionViewSet.as_view({"get": "list", "post": "create"})
contribution_detail = ContributionViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
)

urlpatterns = [
    path(
        "goals/<int:goal_pk>/contributions/",
        contribution_list,
        name="goal-contribution-list",
    ),
    path(
        "goals/<int:goal_pk>/contributions/<int:pk>/",
        contribution_detail,
        name="goal-contribution-detail",
    ),
]
