from django.urls import path, re_path

from . import chart_views, views

routes: list = []
urlpatterns = [
    path("summary/", views.MonthSummaryView.as_view(), name="month-summary"),
    path("reports/summary/", views.SummaryView.as_view(), name="report-summary"),
    path("reports/monthly/", views.MonthlyView.as_view(), name="report-monthly"),
    path("reports/trends/", views.TrendsView.as_view(), name="report-trends"),
    path("reports/timeseries/", views.TimeseriesView.as_view(), name="report-timeseries"),
    path("reports/dashboard/", views.DashboardView.as_view(), name="report-dashboard"),
    re_path(
        r"^reports/charts/(?P<name>[a-z-]+)\.(?P<fmt>[a-z]+)$",
        chart_views.ChartView.as_view(),
        name="report-chart",
    ),
]
