"""`manage.py run_dev`: the development server, with the scheduled jobs ticking in-process.

What `make run` starts. It is `runserver` (whichever runserver the installed apps
provide, with all its options) plus a background thread that runs every registered
job at once and then every `--jobs-every` seconds, so a recurring bill due today
appears without running `manage.py run_jobs` by hand. Production runs Celery beat
instead (docs/deployment.md); tests never start this thread.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Mapping
from typing import Any

from django.core.management import CommandError, get_commands, load_command_class
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV

from core.jobs import MINUTE, JobScheduler

RunserverCommand = type(load_command_class(get_commands()["runserver"], "runserver"))


def serving_process(*, use_reloader: bool, environ: Mapping[str, str] = os.environ) -> bool:
    """True in the process that serves requests: with the autoreloader that is only the
    child it restarts on each code change (RUN_MAIN=true), never the watching parent,
    so the jobs tick in exactly one process."""
    return not use_reloader or environ.get(DJANGO_AUTORELOAD_ENV) == "true"


class Command(RunserverCommand):  # type: ignore[misc,valid-type]
    help = (
        "Serve the API for development (runserver) and run the registered scheduled jobs "
        "in-process: at start, then every --jobs-every seconds."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        super().add_arguments(parser)
        parser.add_argument(
            "--jobs-every",
            type=float,
            default=MINUTE,
            metavar="SECONDS",
            help="Seconds between two runs of the scheduled jobs (default: 60).",
        )
        parser.add_argument(
            "--no-jobs",
            action="store_true",
            help="Serve only, like runserver: do not run the scheduled jobs.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["jobs_every"] <= 0:
            raise CommandError("--jobs-every must be a positive number of seconds")
        super().handle(*args, **options)

    def inner_run(self, *args: Any, **options: Any) -> None:
        scheduler = None
        if not options["no_jobs"] and serving_process(use_reloader=options["use_reloader"]):
            scheduler = JobScheduler(interval=options["jobs_every"])
            scheduler.start()
            # Under the autoreloader this runs in a daemon thread that the process
            # leaves without unwinding; atexit still lets a running tick finish.
            atexit.register(scheduler.stop)
        try:
            super().inner_run(*args, **options)
        finally:
            if scheduler is not None:
                scheduler.stop()
