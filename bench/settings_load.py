"""Settings for the load benchmark's gunicorn: the real settings plus a bench-only URLconf.

Only `bench.load` selects this module (DJANGO_SETTINGS_MODULE=bench.settings_load), so
the bare `/bench/ping/` endpoint is never served by a production deployment.
"""

from budget_tracker.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
