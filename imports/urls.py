from .views import ImportProfileViewSet, ImportViewSet

# Profiles first: the router would otherwise read `profiles` as an import's pk.
routes = [
    ("imports/profiles", ImportProfileViewSet, "import-profile"),
    ("imports", ImportViewSet, "import"),
]
urlpatterns: list = []
