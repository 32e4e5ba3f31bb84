"""SQL state (SQLModel on SQLite or PostgreSQL): shared by processes that share the database.

Instants are stored as epoch milliseconds (portable comparisons on both engines) and compared
with the caller's clock. Each write is one transaction whose WHERE clause carries its
condition (revision, lease expiry), so two processes never both win. The tables live in a
metadata of their own, created on open: ``focal_rt_*``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import registry
from sqlalchemy.pool import NullPool
from sqlmodel import Field, SQLModel

from runtime.ports.base import ComposedTurn
from runtime.ports.records import AuditEvent, CallStatus, Conversation, ToolCall

_registry = registry()


class _Base(SQLModel, registry=_registry):
    pass


class ConversationRow(_Base, table=True):
    __tablename__ = "focal_rt_conversations"
    tenant: str = Field(primary_key=True, max_length=63)
    id: str = Field(primary_key=True, max_length=255)
    revision: int
    scenario: str | None = Field(default=None, max_length=63)
    step: str | None = Field(default=None, max_length=63)
    doc: str = Field(sa_column=Column(Text, nullable=False))
    updated_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


class TurnLeaseRow(_Base, table=True):
    __tablename__ = "focal_rt_turn_leases"
    tenant: str = Field(primary_key=True, max_length=63)
    conversation: str = Field(primary_key=True, max_length=255)
    holder: str = Field(max_length=255)
    expires_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


class ToolCallRow(_Base, table=True):
    __tablename__ = "focal_rt_tool_calls"
    tenant: str = Field(primary_key=True, max_length=63)
    key: str = Field(primary_key=True, max_length=255)
    status: str = Field(index=True, max_length=16)
    doc: str = Field(sa_column=Column(Text, nullable=False))
    expires_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


class AuditRow(_Base, table=True):
    __tablename__ = "focal_rt_audit"
    seq: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(index=True, max_length=63)
    stream: str = Field(max_length=16)
    doc: str = Field(sa_column=Column(Text, nullable=False))


_CONV = ConversationRow.__table__  # type: ignore[attr-defined]
_LEASE = TurnLeaseRow.__table__  # type: ignore[attr-defined]
_CALL = ToolCallRow.__table__  # type: ignore[attr-defined]
_AUDIT = AuditRow.__table__  # type: ignore[attr-defined]


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


def sql_engine(url: str) -> Engine:
    """An engine for ``url`` (``postgresql://`` means psycopg 3). SQLite gets WAL, a busy
    timeout and ``BEGIN IMMEDIATE`` transactions, so concurrent writers queue, not fail."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class SqlState(ComposedTurn):
    """Implements every state port on one SQL database."""

    def __init__(self, url: str) -> None:
        self.engine = sql_engine(url)
        self.description = self.engine.url.render_as_string(hide_password=True)
        with self.engine.begin() as conn:
            _registry.metadata.create_all(conn)

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def _insert(self, conn: Connection, table: Any, **values: Any) -> bool:
        """Insert, or False if the key exists (a savepoint keeps the transaction usable)."""
        try:
            with conn.begin_nested():
                conn.execute(insert(table).values(**values))
            return True
        except IntegrityError:
            return False

    # ConversationStore
    def load(self, tenant: str, conversation: str) -> Conversation | None:
        with self._tx() as conn:
            doc = conn.execute(
                select(_CONV.c.doc).where(_CONV.c.tenant == tenant, _CONV.c.id == conversation)
            ).scalar()
        return Conversation.from_json(json.loads(doc)) if doc else None

    def save(self, conversation: Conversation, now: datetime) -> Conversation | None:
        new = replace(conversation, revision=conversation.revision + 1, updated_at=now)
        values = {
            "revision": new.revision,
            "scenario": new.scenario,
            "step": new.step,
            "doc": _dumps(new.to_json()),
            "updated_ms": _ms(now),
        }
        with self._tx() as conn:
            if conversation.revision == 0:
                ok = self._insert(conn, _CONV, tenant=new.tenant, id=new.id, **values)
            else:
                ok = (
                    conn.execute(
                        update(_CONV)
                        .where(
                            _CONV.c.tenant == new.tenant,
                            _CONV.c.id == new.id,
                            _CONV.c.revision == conversation.revision,
                        )
                        .values(**values)
                    ).rowcount
                    == 1
                )
        return new if ok else None

    def count_by_step(self, tenant: str) -> dict[tuple[str, str], int]:
        with self._tx() as conn:
            rows = conn.execute(
                select(_CONV.c.scenario, _CONV.c.step, func.count())
                .where(
                    _CONV.c.tenant == tenant,
                    _CONV.c.scenario.is_not(None),
                    _CONV.c.step.is_not(None),
                )
                .group_by(_CONV.c.scenario, _CONV.c.step)
            ).all()
        return {(scenario, step): int(n) for scenario, step, n in rows}

    def acquire_turn(
        self, tenant: str, conversation: str, holder: str, now: datetime, ttl: timedelta
    ) -> bool:
        expires = _ms(now + ttl)
        with self._tx() as conn:
            if self._insert(
                conn,
                _LEASE,
                tenant=tenant,
                conversation=conversation,
                holder=holder,
                expires_ms=expires,
            ):
                return True
            taken = conn.execute(
                update(_LEASE)
                .where(
                    _LEASE.c.tenant == tenant,
                    _LEASE.c.conversation == conversation,
                    or_(_LEASE.c.expires_ms <= _ms(now), _LEASE.c.holder == holder),
                )
                .values(holder=holder, expires_ms=expires)
            )
            return taken.rowcount == 1

    def release_turn(self, tenant: str, conversation: str, holder: str) -> None:
        with self._tx() as conn:
            conn.execute(
                delete(_LEASE).where(
                    _LEASE.c.tenant == tenant,
                    _LEASE.c.conversation == conversation,
                    _LEASE.c.holder == holder,
                )
            )

    # ToolCallLog
    def begin(self, call: ToolCall) -> ToolCall | None:
        record = replace(call, status=CallStatus.IN_FLIGHT)
        values = {
            "status": str(CallStatus.IN_FLIGHT),
            "doc": _dumps(record.to_json()),
            "expires_ms": _ms(call.expires_at),
        }
        with self._tx() as conn:
            if self._insert(conn, _CALL, tenant=call.tenant, key=call.key, **values):
                return None
            replaced = conn.execute(
                update(_CALL)
                .where(
                    _CALL.c.tenant == call.tenant,
                    _CALL.c.key == call.key,
                    _CALL.c.expires_ms <= _ms(call.started_at),
                )
                .values(**values)
            )
            if replaced.rowcount == 1:
                return None
            doc = conn.execute(
                select(_CALL.c.doc).where(_CALL.c.tenant == call.tenant, _CALL.c.key == call.key)
            ).scalar_one()
        return ToolCall.from_json(json.loads(doc))

    def finish(
        self,
        tenant: str,
        key: str,
        status: CallStatus,
        now: datetime,
        result: Any = None,
        error: str | None = None,
    ) -> ToolCall | None:
        where = (_CALL.c.tenant == tenant, _CALL.c.key == key)
        with self._tx() as conn:
            doc = conn.execute(select(_CALL.c.doc).where(*where).with_for_update()).scalar()
            if doc is None:
                return None
            new = replace(
                ToolCall.from_json(json.loads(doc)),
                status=status,
                result=result,
                error=error,
                finished_at=now,
            )
            conn.execute(
                update(_CALL).where(*where).values(status=str(status), doc=_dumps(new.to_json()))
            )
        return new

    def lookup(self, tenant: str, key: str) -> ToolCall | None:
        with self._tx() as conn:
            doc = conn.execute(
                select(_CALL.c.doc).where(_CALL.c.tenant == tenant, _CALL.c.key == key)
            ).scalar()
        return ToolCall.from_json(json.loads(doc)) if doc else None

    def in_flight(self, tenant: str) -> list[ToolCall]:
        with self._tx() as conn:
            docs = conn.execute(
                select(_CALL.c.doc).where(
                    _CALL.c.tenant == tenant, _CALL.c.status == str(CallStatus.IN_FLIGHT)
                )
            ).scalars()
            calls = [ToolCall.from_json(json.loads(doc)) for doc in docs]
        return sorted(calls, key=lambda c: c.started_at)

    # AuditLog
    def append(self, event: AuditEvent) -> AuditEvent:
        doc = _dumps(replace(event, seq=0).to_json())
        with self._tx() as conn:
            seq = conn.execute(
                insert(_AUDIT)
                .values(tenant=event.tenant, stream=event.stream, doc=doc)
                .returning(_AUDIT.c.seq)
            ).scalar_one()
        return replace(event, seq=int(seq))

    def append_many(self, events: Sequence[AuditEvent]) -> list[AuditEvent]:
        out = []
        with self._tx() as conn:
            for event in events:
                doc = _dumps(replace(event, seq=0).to_json())
                seq = conn.execute(
                    insert(_AUDIT)
                    .values(tenant=event.tenant, stream=event.stream, doc=doc)
                    .returning(_AUDIT.c.seq)
                ).scalar_one()
                out.append(replace(event, seq=int(seq)))
        return out

    def events(
        self, tenant: str, *, stream: str = "live", after: int = 0, limit: int = 1000
    ) -> list[AuditEvent]:
        with self._tx() as conn:
            rows = conn.execute(
                select(_AUDIT.c.seq, _AUDIT.c.doc)
                .where(_AUDIT.c.tenant == tenant, _AUDIT.c.stream == stream, _AUDIT.c.seq > after)
                .order_by(_AUDIT.c.seq)
                .limit(limit)
            ).all()
        return [replace(AuditEvent.from_json(json.loads(doc)), seq=int(seq)) for seq, doc in rows]

    def close(self) -> None:
        self.engine.dispose()
