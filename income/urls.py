from .views import IncomeViewSet

routes = [("incomes", IncomeViewSet, "income")]
urlpatterns: list = []
