from django.urls import path

from .views import ShellView

urlpatterns = [
    path("", ShellView.as_view(), name="webapp"),
]
