"""Per-user advisory locks: serialize one user's work without locking the user row.

Locking the user row (SELECT … FOR UPDATE) for a long operation would also block what
only touches that row — login (last_login), token refresh, settings — for as long as
the operation runs. A PostgreSQL transaction-level advisory lock on (namespace, user id)
serializes just the operations that ask for the same namespace, and is released at
commit or rollback. SQLite serializes writers already, so there it does nothing.
"""

from __future__ import annotations

from enum import IntEnum

from django.db import connection


class UserLock(IntEnum):
    """One namespace per kind of per-user serialization (any distinct 32-bit values)."""

    RULES = 0x5255  # rule count cap
    TAGS = 0x5447  # tag count cap
    # Keyed by book id: a book's base-currency changes (exclusive) vs its money writes (shared).
    BASE_CURRENCY = 0x4243
    IMPORTS = 0x494D  # keyed by book id: statement commits (duplicate detection)
    IMPORT_PROFILES = 0x4950  # keyed by book id: saved import mappings' cap, unique names


def user_lock(namespace: UserLock, user_id: int, *, shared: bool = False) -> None:
    """Take the user's `namespace` lock until the transaction ends; must be called inside
    `transaction.atomic`. Waits as long as the connection's lock_timeout allows."""
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [int(namespace), user_id % 2**31])
