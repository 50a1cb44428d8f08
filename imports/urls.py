from .views import ImportViewSet

routes = [("imports", ImportViewSet, "import")]
urlpatterns: list = []
