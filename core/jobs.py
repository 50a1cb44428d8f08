"""The scheduled jobs, in one list for Celery beat and `manage.py run_jobs`.

Every job is idempotent and decides for itself what is due, so running one twice,
late, or on two machines at once does no harm.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

# (name, "module.function") — resolved lazily so this module imports nothing heavy.
JOBS: list[tuple[str, str]] = [
    ("create_due_occurrences", "recurring.services.create_due_occurrences"),
    ("send_bill_reminders", "recurring.services.send_bill_reminders"),
    ("send_monthly_summaries", "recurring.services.send_monthly_summaries"),
    ("flush_expired_tokens", "users.services.flush_expired_tokens"),
]


def resolve(path: str) -> Callable[[], int]:
    module, name = path.rsplit(".", 1)
    return getattr(import_module(module), name)
