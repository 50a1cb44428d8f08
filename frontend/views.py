"""The web app's one HTML page (SPEC §18): a shell that loads the CSS and the JavaScript
modules; the pages are drawn in the browser from the API and routed by the URL's hash, so
every page of the app is this one URL to Django."""

from django.utils.decorators import method_decorator
from django.views.decorators.cache import cache_control
from django.views.generic import TemplateView


# Revalidated on every load: after a deploy the shell names the new hashed asset files.
@method_decorator(cache_control(no_cache=True, private=True), name="dispatch")
class ShellView(TemplateView):
    template_name = "frontend/shell.html"
    http_method_names = ["get", "head"]
