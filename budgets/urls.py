from .views import BudgetViewSet

routes = [("budgets", BudgetViewSet, "budget")]
urlpatterns: list = []
