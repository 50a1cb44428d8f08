"""The Celery app: a worker pool and beat run the scheduled jobs in production.

Without CELERY_BROKER_URL (the embedded default) tasks run eagerly in-process and
`manage.py run_jobs` runs every job once, for cron.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "budget_tracker.settings")

app = Celery("budget_tracker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
