"""Routes of the currencies app, mounted under /api/v1/ by budget_tracker.api_urls."""

from django.urls import path

from .views import ConvertView, CurrencyViewSet, ExchangeRateViewSet

routes = [
    ("rates", ExchangeRateViewSet, "rate"),
    ("currencies", CurrencyViewSet, "currency"),
]

urlpatterns = [
    path("convert/", ConvertView.as_view(), name="convert"),
]
