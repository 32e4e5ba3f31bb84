"""What the benchmarks share about the machine's services."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator


@contextlib.contextmanager
def pg_schema(url: str) -> Iterator[str]:
    """A schema of its own, dropped afterwards: a benchmark never writes to public."""
    import sqlalchemy as sa

    dsn = url.replace("postgresql://", "postgresql+psycopg://", 1)
    schema = f"focalbench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(dsn)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{dsn}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
