"""Store operations: snapshots, releases (monotonic versions) and locks."""

from __future__ import annotations

import getpass
import json
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)

from focalctl.names import check_lock_id, check_name
from focalctl.store.migrations import SchemaTooNew, migrate
from focalctl.store.tables import LockRow, ReleaseRow, SnapshotRow
from runtime.ports.sql import sql_engine
from runtime.snapshot import snapshot_id as content_id

DEFAULT_STORE_URL = "sqlite:///.focal/state.db"
DEFAULT_LOCK_TTL = timedelta(minutes=5)
MAX_VERSION = 2**63 - 1  # release versions are 64-bit integers in every backend
# Drivers SQLAlchemy imports for a URL scheme, to name in "no driver" errors.
_DRIVERS = {
    "mysql": "mysqlclient or pymysql (mysql+pymysql://...)",
    "mariadb": "mariadb or pymysql (mariadb+pymysql://...)",
    "postgresql": "psycopg (pip install 'psycopg[binary]')",
    "mssql": "pyodbc",
    "oracle": "oracledb",
}

_SNAP = SnapshotRow.__table__  # type: ignore[attr-defined]
_REL = ReleaseRow.__table__  # type: ignore[attr-defined]
_LOCK = LockRow.__table__  # type: ignore[attr-defined]


class StoreError(Exception):
    """A store problem a user can act on: the message says what and where, ``hint`` how to fix."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class LockHeld(StoreError):
    def __init__(
        self,
        tenant: str,
        env: str,
        lock_id: str,
        holder: str,
        acquired_at: datetime,
        expires_at: datetime,
    ) -> None:
        super().__init__(
            f"{tenant}/{env} is locked by {holder} since {acquired_at:%Y-%m-%d %H:%M:%S} UTC "
            f"(lock {lock_id}, expires {expires_at:%H:%M:%S} UTC)",
            "wait for that apply to finish and re-run; if it crashed, wait until the lock "
            f"expires or remove it with: focalctl force-unlock {lock_id} (same --store)",
        )
        self.lock_id, self.holder, self.expires_at = lock_id, holder, expires_at


class CorruptSnapshot(StoreError):
    pass


@dataclass(frozen=True, slots=True)
class Release:
    tenant: str
    env: str
    version: int
    snapshot_id: str
    created_at: datetime
    author: str
    message: str
    kind: str
    rollback_of: int | None = None
    status: str = "published"
    git_commit: str | None = None  # the bundle's commit: short sha, "+dirty" (see gitinfo)
    git_author: str | None = None  # that commit's author, "Name <email>"

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "env": self.env,
            "version": self.version,
            "snapshot": self.snapshot_id,
            "created_at": self.created_at.isoformat(),
            "author": self.author,
            "message": self.message,
            "kind": self.kind,
            "rollback_of": self.rollback_of,
            "status": self.status,
            "git_commit": self.git_commit,
            "git_author": self.git_author,
        }


@dataclass(frozen=True, slots=True)
class Lock:
    """The lock on one (tenant, env), as held now (times in UTC)."""

    tenant: str
    env: str
    lock_id: str
    holder: str
    acquired_at: datetime
    expires_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> Lock:
        return cls(
            row["tenant"],
            row["env"],
            row["lock_id"],
            row["holder"],
            aware(row["acquired_at"]),
            aware(row["expires_at"]),
        )

    @property
    def expired(self) -> bool:
        return self.expires_at <= now()

    def error(self) -> LockHeld:
        """The error for someone else trying to take this lock."""
        return LockHeld(
            self.tenant, self.env, self.lock_id, self.holder, self.acquired_at, self.expires_at
        )


@dataclass(frozen=True, slots=True)
class StoredSnapshot:
    id: str
    tenant: str
    raw: bytes
    compiler_version: str
    source_digest: str
    provenance_json: str

    @property
    def provenance(self) -> dict[str, Any]:
        """Parsed on demand: plan and rollback only need the bytes, explain needs this."""
        try:
            value = json.loads(self.provenance_json)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


def now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """Datetimes read back from SQLite come without a zone; they were written in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def author() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def open_store(url: str | None = None) -> Store:
    """Open (creating and migrating if needed) the store at ``url`` (default: .focal/state.db)."""
    url = url or os.environ.get("FOCAL_STORE") or DEFAULT_STORE_URL
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = _engine(url)
        store = Store(engine)
        store.migrate()
    except SchemaTooNew as exc:
        raise StoreError(str(exc)) from exc
    except (ImportError, NoSuchModuleError) as exc:
        scheme = url.split("://", 1)[0]
        dialect = scheme.split("+", 1)[0]
        install = _DRIVERS.get(dialect, f"the SQLAlchemy driver for {scheme}")
        raise StoreError(
            f"no driver for {scheme} to open the store at {_redact(url)} ({_first_line(exc)})",
            f"install {install}, or use sqlite:///PATH (the default) or postgresql://..., "
            "the backends Focal is tested with",
        ) from exc
    except (SQLAlchemyError, OSError, ValueError) as exc:
        raise StoreError(f"cannot open the store at {_redact(url)}: {_first_line(exc)}") from exc
    return store


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':')[0]}:***@{host}" if ":" in creds else url
    return url


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _engine(url: str) -> Engine:
    """The runtime's engine setup (SQLite: WAL, busy timeout, ``BEGIN IMMEDIATE``), shared so
    the store and the runtime state treat one database file the same way."""
    return sql_engine(url)


class Store:
    """All reads and writes of the store. Each method is one transaction, or a step of the
    caller's: a method that can join one takes it as the keyword-only ``conn``, always last
    (optional where the method can also run alone)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            if not self.is_sqlite and self.engine.dialect.name == "postgresql":
                conn.execute(text("SET LOCAL lock_timeout = '30s'"))
            yield conn

    def migrate(self) -> None:
        for attempt in range(5):
            try:
                with self.tx() as conn:
                    if self.engine.dialect.name == "postgresql":
                        conn.execute(text("SELECT pg_advisory_xact_lock(7205316)"))
                    migrate(conn)
                return
            except (OperationalError, IntegrityError, DBAPIError):
                if attempt == 4:
                    raise

    def close(self) -> None:
        self.engine.dispose()

    # -- snapshots ----------------------------------------------------------------------------

    def put_snapshot(
        self,
        conn: Connection,
        *,
        id: str,
        tenant: str,
        raw: bytes,
        compiler_version: str,
        source_digest: str,
        provenance: dict[str, Any],
    ) -> None:
        """Store a snapshot if absent (snapshots are immutable and content-addressed)."""
        if content_id(raw) != id:
            raise CorruptSnapshot(f"refusing to store snapshot {id}: its bytes hash differently")
        exists = conn.execute(select(_SNAP.c.id).where(_SNAP.c.id == id)).first()
        if exists is None:
            conn.execute(
                _SNAP.insert().values(
                    id=id,
                    tenant=tenant,
                    body=raw,
                    compiler_version=compiler_version,
                    source_digest=source_digest,
                    provenance=json.dumps(provenance, sort_keys=True),
                    created_at=now(),
                )
            )

    def get_snapshot(self, snapshot_id: str, *, conn: Connection | None = None) -> StoredSnapshot:
        """Read and verify a snapshot; raises CorruptSnapshot when its bytes do not match its id."""
        if conn is None:
            with self.tx() as c:
                return self.get_snapshot(snapshot_id, conn=c)
        row = conn.execute(select(_SNAP).where(_SNAP.c.id == snapshot_id)).mappings().first()
        if row is None:
            raise StoreError(f"snapshot {snapshot_id} is not in the store")
        raw = bytes(row["body"])
        actual = content_id(raw)
        if actual != snapshot_id:
            raise CorruptSnapshot(
                f"snapshot {snapshot_id} in the store is corrupt (its bytes hash to {actual}); "
                "it will not be used. Re-apply the bundle that produced it, or roll back to another version"
            )
        return StoredSnapshot(
            snapshot_id,
            row["tenant"],
            raw,
            row["compiler_version"],
            row["source_digest"],
            row["provenance"] or "{}",
        )

    # -- releases -----------------------------------------------------------------------------

    def active(self, tenant: str, env: str, *, conn: Connection | None = None) -> Release | None:
        if conn is None:
            with self.tx() as c:
                return self.active(tenant, env, conn=c)
        row = (
            conn.execute(
                select(_REL)
                .where(_REL.c.tenant == tenant, _REL.c.env == env, _REL.c.status == "published")
                .order_by(_REL.c.version.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        return _release_of_row(row) if row else None

    def pending(self, tenant: str, env: str, *, conn: Connection) -> list[Release]:
        """Releases stored by an apply that has not confirmed publishing them (yet)."""
        query = (
            select(_REL)
            .where(_REL.c.tenant == tenant, _REL.c.env == env, _REL.c.status == "pending")
            .order_by(_REL.c.version)
        )
        return [_release_of_row(r) for r in conn.execute(query).mappings().all()]

    def mark_published(self, tenant: str, env: str, version: int, *, conn: Connection) -> None:
        where = (_REL.c.tenant == tenant, _REL.c.env == env, _REL.c.version == version)
        conn.execute(_REL.update().where(*where).values(status="published"))

    def drop_pending(self, tenant: str, env: str, version: int, *, conn: Connection) -> None:
        where = (
            _REL.c.tenant == tenant,
            _REL.c.env == env,
            _REL.c.version == version,
            _REL.c.status == "pending",
        )
        conn.execute(_REL.delete().where(*where))

    def history(self, tenant: str, env: str) -> list[Release]:
        with self.tx() as conn:
            rows = (
                conn.execute(
                    select(_REL)
                    .where(_REL.c.tenant == tenant, _REL.c.env == env, _REL.c.status == "published")
                    .order_by(_REL.c.version)
                )
                .mappings()
                .all()
            )
        return [_release_of_row(r) for r in rows]

    def release(
        self, tenant: str, env: str, version: int, conn: Connection | None = None
    ) -> Release | None:
        if not 1 <= version <= MAX_VERSION:
            return None  # no such version (and not one a database column could even hold)
        if conn is None:
            with self.tx() as c:
                return self.release(tenant, env, version, c)
        row = (
            conn.execute(
                select(_REL).where(
                    _REL.c.tenant == tenant,
                    _REL.c.env == env,
                    _REL.c.version == version,
                    _REL.c.status == "published",
                )
            )
            .mappings()
            .first()
        )
        return _release_of_row(row) if row else None

    def add_release(
        self,
        conn: Connection,
        *,
        tenant: str,
        env: str,
        snapshot_id: str,
        kind: str,
        message: str,
        rollback_of: int | None = None,
        status: str = "pending",
        git_commit: str | None = None,
        git_author: str | None = None,
    ) -> Release:
        """Insert the next version (pending until published); a unique constraint forbids twins."""
        check_name("tenant", tenant)
        check_name("environment", env)
        current = conn.execute(
            select(func.max(_REL.c.version)).where(_REL.c.tenant == tenant, _REL.c.env == env)
        ).scalar_one_or_none()
        rel = Release(
            tenant,
            env,
            int(current or 0) + 1,
            snapshot_id,
            now(),
            author(),
            message,
            kind,
            rollback_of,
            status,
            git_commit,
            git_author,
        )
        conn.execute(
            _REL.insert().values(
                tenant=tenant,
                env=env,
                version=rel.version,
                snapshot_id=snapshot_id,
                created_at=rel.created_at,
                author=rel.author,
                message=message,
                kind=kind,
                rollback_of=rollback_of,
                status=status,
                git_commit=git_commit,
                git_author=git_author,
            )
        )
        return rel

    # -- locks --------------------------------------------------------------------------------

    def acquire(
        self, tenant: str, env: str, ttl: timedelta = DEFAULT_LOCK_TTL, holder: str | None = None
    ) -> str:
        """Take the (tenant, env) lock or raise LockHeld naming the holder. Returns the lock id."""
        check_name("tenant", tenant)
        check_name("environment", env)
        lock_id = str(uuid.uuid4())
        holder = holder or f"{author()} pid {os.getpid()}"
        for _ in range(3):
            t = now()
            try:
                with self.tx() as conn:
                    row = (
                        conn.execute(
                            select(_LOCK).where(_LOCK.c.tenant == tenant, _LOCK.c.env == env)
                        )
                        .mappings()
                        .first()
                    )
                    if row is None:
                        conn.execute(
                            _LOCK.insert().values(
                                tenant=tenant,
                                env=env,
                                lock_id=lock_id,
                                holder=holder,
                                acquired_at=t,
                                expires_at=t + ttl,
                            )
                        )
                        return lock_id
                    held = Lock.from_row(row)
                    if held.expires_at > t:
                        raise held.error()
                    taken = conn.execute(
                        _LOCK.update()
                        .where(
                            _LOCK.c.tenant == tenant,
                            _LOCK.c.env == env,
                            _LOCK.c.lock_id == row["lock_id"],
                        )
                        .values(lock_id=lock_id, holder=holder, acquired_at=t, expires_at=t + ttl)
                    )
                    if taken.rowcount == 1:
                        return lock_id
            except IntegrityError:
                continue  # another process inserted first: read it again
        current = self.held_lock(tenant, env)
        if current is None:
            raise StoreError(f"could not take the lock for {tenant}/{env}; try again")
        raise current.error()

    def held_lock(self, tenant: str, env: str) -> Lock | None:
        """The lock on (tenant, env), expired or not; None if nobody took it."""
        with self.tx() as conn:
            row = (
                conn.execute(select(_LOCK).where(_LOCK.c.tenant == tenant, _LOCK.c.env == env))
                .mappings()
                .first()
            )
        return Lock.from_row(row) if row else None

    def holds(self, tenant: str, env: str, lock_id: str, *, conn: Connection) -> bool:
        row = conn.execute(
            select(_LOCK.c.lock_id, _LOCK.c.expires_at).where(
                _LOCK.c.tenant == tenant, _LOCK.c.env == env
            )
        ).first()
        return row is not None and row[0] == lock_id

    def unlock(self, tenant: str, env: str, lock_id: str) -> None:
        with self.tx() as conn:
            conn.execute(
                _LOCK.delete().where(
                    _LOCK.c.tenant == tenant, _LOCK.c.env == env, _LOCK.c.lock_id == lock_id
                )
            )

    def force_unlock(self, lock_id: str) -> tuple[str, str, str]:
        lock_id = check_lock_id(lock_id)
        with self.tx() as conn:
            row = conn.execute(select(_LOCK).where(_LOCK.c.lock_id == lock_id)).mappings().first()
            if row is None:
                raise StoreError(
                    f"no lock with id {lock_id}; `focalctl history` or the apply error names the current one"
                )
            conn.execute(_LOCK.delete().where(_LOCK.c.lock_id == lock_id))
        return row["tenant"], row["env"], row["holder"]


def _release_of_row(row: Any) -> Release:
    return Release(
        row["tenant"],
        row["env"],
        row["version"],
        row["snapshot_id"],
        aware(row["created_at"]),
        row["author"],
        row["message"],
        row["kind"],
        row["rollback_of"],
        row["status"],
        row["git_commit"],
        row["git_author"],
    )
