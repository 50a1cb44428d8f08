from django.urls import path

from .anomaly_views import AnomaliesView
from .categorize_views import CategorizeView
from .forecast_views import CashflowView, ForecastView, InsightsView

# Served at the top level (the caller's personal book) and under /books/{book_id}/.
urlpatterns = [
    path("ai/categorize/", CategorizeView.as_view(), name="ai-categorize"),
    path("ai/anomalies/", AnomaliesView.as_view(), name="ai-anomalies"),
    path("ai/forecast/", ForecastView.as_view(), name="ai-forecast"),
    path("ai/cashflow/", CashflowView.as_view(), name="ai-cashflow"),
    path("ai/insights/", InsightsView.as_view(), name="ai-insights"),
]
