from django.urls import path

from . import views

# Top-level routes (`/books/`); the member and invitation routes are registered under
# `/books/{book_id}/` with every other book-scoped route (budget_tracker/api_urls.py).
routes = [("books", views.BookViewSet, "book")]
book_routes = [
    ("members", views.MemberViewSet, "book-member"),
    ("invitations", views.InvitationViewSet, "book-invitation"),
]
urlpatterns = [
    path("invitations/accept/", views.AcceptInvitationView.as_view(), name="invitation-accept"),
]
