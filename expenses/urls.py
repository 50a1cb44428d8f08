from .views import ExpenseViewSet

routes = [("expenses", ExpenseViewSet, "expense")]
urlpatterns: list = []
