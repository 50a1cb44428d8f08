"""`manage.py totals verify|rebuild [--book ID]`: check the day totals the database keeps
(ledger/totals.py) against the records, or recompute them.

`verify` prints each difference and exits 1 if there is any; `rebuild` recomputes the
totals (of one book, or all) while the record tables are locked against writes.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledger import totals

SHOWN = 20


class Command(BaseCommand):
    help = "Verify or rebuild the day totals that reports read (docs/scaling.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify", "rebuild"])
        parser.add_argument("--book", type=int, help="Only this book's totals (its id).")

    def handle(self, *args: object, **options: object) -> None:
        book_id = options["book"]
        scope = f"book {book_id}" if book_id is not None else "every book"
        started = time.monotonic()
        if options["action"] == "rebuild":
            totals.rebuild(book_id=book_id)  # type: ignore[arg-type]
            self.stdout.write(
                f"Rebuilt the totals of {scope} in {time.monotonic() - started:.1f} s."
            )
            return
        mismatches = totals.verify(book_id=book_id)  # type: ignore[arg-type]
        if not mismatches:
            self.stdout.write(
                f"The totals of {scope} match the records ({time.monotonic() - started:.1f} s)."
            )
            return
        for mismatch in mismatches[:SHOWN]:
            self.stdout.write(
                f"{mismatch.table} {mismatch.key}: stored {mismatch.stored}, "
                f"records give {mismatch.expected}"
            )
        if len(mismatches) > SHOWN:
            self.stdout.write(f"... and {len(mismatches) - SHOWN} more.")
        raise CommandError(
            f"{len(mismatches)} totals of {scope} differ from the records: "
            "run `manage.py totals rebuild`."
        )
