"""Running one callable from many threads at once, for PostgreSQL race tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection


def require_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")


def run_concurrently(
    work: Callable[[int], Any], *, threads: int, expected: tuple[type[BaseException], ...] = ()
) -> tuple[list[Any], list[BaseException]]:
    """Start `threads` threads that call `work(i)` together (behind a barrier).

    Returns (results, unexpected errors); exceptions of the `expected` types count as
    results. Each thread closes its own database connection when done.
    """
    barrier = threading.Barrier(threads)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            barrier.wait()
            outcome = work(i)
        except expected as exc:
            outcome = exc
        except BaseException as exc:  # collected so the test can show it
            with lock:
                errors.append(exc)
            return
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return results, errors
