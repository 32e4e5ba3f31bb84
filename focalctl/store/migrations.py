"""Versioned schema migrations, applied in order inside one transaction.

Append a function to ``MIGRATIONS`` for every schema change; never edit a released one. A store
whose schema is newer than this code is refused with a clear error instead of being touched.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, inspect, select, text
from sqlmodel import SQLModel

from focalctl.store.tables import LockRow, ReleaseRow, SchemaVersion, SnapshotRow


def _v1_initial(conn: Connection) -> None:
    tables = [SnapshotRow.__table__, ReleaseRow.__table__, LockRow.__table__]  # type: ignore[attr-defined]
    SQLModel.metadata.create_all(conn, tables=tables)


def _v2_release_git(conn: Connection) -> None:
    """Releases record the bundle's git commit and author (nullable: older releases have none).
    A store created at version 1 by this code already has the columns (``_v1_initial`` creates
    the current tables), so each is added only when missing."""
    table = ReleaseRow.__tablename__
    have = {c["name"] for c in inspect(conn).get_columns(table)}
    for column, sql_type in (("git_commit", "VARCHAR(64)"), ("git_author", "TEXT")):
        if column not in have:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}"))


MIGRATIONS: list[Callable[[Connection], None]] = [_v1_initial, _v2_release_git]
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNew(Exception):
    pass


def migrate(conn: Connection) -> int:
    """Bring the schema to ``SCHEMA_VERSION``; return the version found before."""
    SQLModel.metadata.create_all(conn, tables=[SchemaVersion.__table__])  # type: ignore[attr-defined]
    table = SchemaVersion.__table__  # type: ignore[attr-defined]
    row = conn.execute(select(table.c.version).where(table.c.id == 1)).scalar_one_or_none()
    current = int(row) if row is not None else 0
    if current == 0 and inspect(conn).has_table(SnapshotRow.__tablename__):
        current = 1  # created before versioning was recorded
    if current > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the store's schema is version {current}, newer than this focalctl understands ({SCHEMA_VERSION}); "
            "upgrade focalctl"
        )
    for index in range(current, SCHEMA_VERSION):
        MIGRATIONS[index](conn)
    if current != SCHEMA_VERSION:
        if row is None:
            conn.execute(table.insert().values(id=1, version=SCHEMA_VERSION))
        else:
            conn.execute(table.update().where(table.c.id == 1).values(version=SCHEMA_VERSION))
    return current
