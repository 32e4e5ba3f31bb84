"""The snapshot store: SQLModel tables, versioned migrations, releases and locks.

SQLite (``.focal/state.db`` under the working directory) by default; any SQLAlchemy URL through
``--store``/``FOCAL_STORE`` (PostgreSQL via psycopg 3 for teams). Every stored snapshot is
verified against its id when read, so a corrupted row is reported and never served.
"""

from focalctl.store.db import (
    DEFAULT_LOCK_TTL,
    DEFAULT_STORE_URL,
    CorruptSnapshot,
    Lock,
    LockHeld,
    Release,
    Store,
    StoredSnapshot,
    StoreError,
    open_store,
)

__all__ = [
    "DEFAULT_LOCK_TTL",
    "DEFAULT_STORE_URL",
    "CorruptSnapshot",
    "Lock",
    "LockHeld",
    "Release",
    "Store",
    "StoreError",
    "StoredSnapshot",
    "open_store",
]
