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
    Index,
    Text,
    bindparam,
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
from runtime.ports.records import (
    ActionStatus,
    AuditEvent,
    CallStatus,
    Conversation,
    OutboundMessage,
    ScheduledAction,
    ToolCall,
    receipt_moves,
)

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


class ScheduledActionRow(_Base, table=True):
    """An agenda action; ``ready_ms`` is when it may be claimed (NULL once finished)."""

    __tablename__ = "focal_rt_agenda"
    __table_args__ = (
        Index("focal_rt_agenda_ready", "ready_ms", "tenant", "id"),
        Index("focal_rt_agenda_tenant_ready", "tenant", "ready_ms", "id"),
        Index("focal_rt_agenda_conversation", "tenant", "conversation"),
    )
    tenant: str = Field(primary_key=True, max_length=63)
    id: str = Field(primary_key=True, max_length=255)
    conversation: str = Field(max_length=255)
    goal: str = Field(max_length=63)
    status: str = Field(max_length=16)
    holder: str | None = Field(default=None, max_length=255)
    ready_ms: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    due_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    doc: str = Field(sa_column=Column(Text, nullable=False))


class OutboundMessageRow(_Base, table=True):
    """An outbound message; every change is an UPDATE conditional on the ``revision`` read."""

    __tablename__ = "focal_rt_messages"
    __table_args__ = (
        Index("focal_rt_messages_conversation", "tenant", "conversation"),
        Index("focal_rt_messages_status", "status"),
    )
    tenant: str = Field(primary_key=True, max_length=63)
    id: str = Field(primary_key=True, max_length=255)
    conversation: str = Field(max_length=255)
    status: str = Field(max_length=16)
    revision: int
    created_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    doc: str = Field(sa_column=Column(Text, nullable=False))


_CONV = ConversationRow.__table__  # type: ignore[attr-defined]
_LEASE = TurnLeaseRow.__table__  # type: ignore[attr-defined]
_CALL = ToolCallRow.__table__  # type: ignore[attr-defined]
_AUDIT = AuditRow.__table__  # type: ignore[attr-defined]
_AGENDA = ScheduledActionRow.__table__  # type: ignore[attr-defined]
_MSG = OutboundMessageRow.__table__  # type: ignore[attr-defined]


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


def _action_values(action: ScheduledAction) -> dict[str, Any]:
    """The columns of ``action``'s row (all but the key)."""
    ready = action.ready_at
    return {
        "conversation": action.conversation,
        "goal": action.goal,
        "status": str(action.status),
        "holder": action.claimed_by,
        "ready_ms": _ms(ready) if ready is not None else None,
        "due_ms": _ms(action.due_at),
        "doc": _dumps(action.to_json()),
    }


def _action(doc: str) -> ScheduledAction:
    return ScheduledAction.from_json(json.loads(doc))


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
            for index in _MSG.indexes:  # tables made by an earlier version lack newer indexes
                index.create(conn, checkfirst=True)

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

    # AgendaStore
    def _update_actions(self, conn: Connection, actions: Sequence[ScheduledAction]) -> None:
        if not actions:
            return
        conn.execute(
            update(_AGENDA).where(
                _AGENDA.c.tenant == bindparam("k_tenant"), _AGENDA.c.id == bindparam("k_id")
            ),
            [{"k_tenant": a.tenant, "k_id": a.id, **_action_values(a)} for a in actions],
        )

    def schedule(self, action: ScheduledAction) -> bool:
        new = replace(action, status=ActionStatus.PENDING, claimed_by=None, claim_expires_at=None)
        with self._tx() as conn:
            return self._insert(conn, _AGENDA, tenant=new.tenant, id=new.id, **_action_values(new))

    def claim_due(
        self, tenant: str | None, now: datetime, holder: str, lease: timedelta, limit: int
    ) -> list[ScheduledAction]:
        """One transaction: the due rows, locked and skipping rows another claimer has
        locked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` lets
        one writer in at a time), are marked claimed before it commits."""
        if limit <= 0:
            return []
        query = (
            select(_AGENDA.c.doc)
            .where(_AGENDA.c.ready_ms <= _ms(now))
            .order_by(_AGENDA.c.ready_ms, _AGENDA.c.tenant, _AGENDA.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if tenant is not None:
            query = query.where(_AGENDA.c.tenant == tenant)
        with self._tx() as conn:
            claimed = [
                replace(
                    _action(doc),
                    status=ActionStatus.CLAIMED,
                    claimed_by=holder,
                    claim_expires_at=now + lease,
                    updated_at=now,
                )
                for doc in conn.execute(query).scalars()
            ]
            self._update_actions(conn, claimed)
        return claimed

    def complete(
        self,
        tenant: str,
        id: str,
        holder: str,
        status: ActionStatus,
        now: datetime,
        *,
        channel: str | None = None,
        error: str | None = None,
        next_due: datetime | None = None,
        postpone: bool = False,
    ) -> ScheduledAction | None:
        with self._tx() as conn:
            doc = conn.execute(
                select(_AGENDA.c.doc)
                .where(
                    _AGENDA.c.tenant == tenant,
                    _AGENDA.c.id == id,
                    _AGENDA.c.status == str(ActionStatus.CLAIMED),
                    _AGENDA.c.holder == holder,
                )
                .with_for_update()
            ).scalar()
            if doc is None:
                return None
            new = _action(doc).completed(status, now, channel, error, next_due, postpone)
            self._update_actions(conn, [new])
        return new

    def cancel(self, tenant: str, conversation: str, goal: str, now: datetime) -> int:
        with self._tx() as conn:
            docs = conn.execute(
                select(_AGENDA.c.doc)
                .where(
                    _AGENDA.c.tenant == tenant,
                    _AGENDA.c.conversation == conversation,
                    _AGENDA.c.goal == goal,
                    _AGENDA.c.status.in_([str(ActionStatus.PENDING), str(ActionStatus.CLAIMED)]),
                )
                .with_for_update()
            ).scalars()
            cancelled = [
                replace(
                    _action(doc),
                    status=ActionStatus.CANCELLED,
                    claim_expires_at=None,
                    updated_at=now,
                )
                for doc in docs
            ]
            self._update_actions(conn, cancelled)
        return len(cancelled)

    def actions(self, tenant: str, conversation: str) -> list[ScheduledAction]:
        with self._tx() as conn:
            docs = conn.execute(
                select(_AGENDA.c.doc)
                .where(_AGENDA.c.tenant == tenant, _AGENDA.c.conversation == conversation)
                .order_by(_AGENDA.c.due_ms, _AGENDA.c.id)
            ).scalars()
            return [_action(doc) for doc in docs]

    # MessageLog
    def record(self, message: OutboundMessage) -> bool:
        with self._tx() as conn:
            return self._insert(
                conn,
                _MSG,
                tenant=message.tenant,
                id=message.id,
                conversation=message.conversation,
                status=str(message.status),
                revision=message.revision,
                created_ms=_ms(message.created_at),
                doc=_dumps(message.to_json()),
            )

    def _store_message(self, conn: Connection, new: OutboundMessage) -> bool:
        """The conditional UPDATE: only over the revision ``new`` was made from."""
        done = conn.execute(
            update(_MSG)
            .where(
                _MSG.c.tenant == new.tenant,
                _MSG.c.id == new.id,
                _MSG.c.revision == new.revision - 1,
            )
            .values(status=str(new.status), revision=new.revision, doc=_dumps(new.to_json()))
        )
        return bool(done.rowcount == 1)

    def receipt(
        self, tenant: str, id: str, status: str, now: datetime, error: str | None = None
    ) -> tuple[OutboundMessage | None, bool]:
        while True:  # another receipt won the race: read again (statuses only move forward)
            current = self.message(tenant, id)
            if current is None or not receipt_moves(current.status, status):
                return current, False
            new = current.received(status, now, error)
            with self._tx() as conn:
                if self._store_message(conn, new):
                    return new, True

    def fall_back(self, message: OutboundMessage) -> OutboundMessage | None:
        with self._tx() as conn:
            current = conn.execute(
                select(_MSG.c.status).where(
                    _MSG.c.tenant == message.tenant, _MSG.c.id == message.id
                )
            ).scalar()
            if current != "failed" or not self._store_message(conn, message):
                return None
        return message

    def stale_failed(self, before: datetime, limit: int) -> list[OutboundMessage]:
        # few messages are failed at once (the receiving process falls them back at once):
        # the status index finds them, their documents say since when
        found = self._messages_where(_MSG.c.status == "failed")
        stale = [m for m in found if m.updated_at <= before]
        return sorted(stale, key=lambda m: (m.updated_at, m.tenant, m.id))[:limit]

    def message(self, tenant: str, id: str) -> OutboundMessage | None:
        with self._tx() as conn:
            doc = conn.execute(
                select(_MSG.c.doc).where(_MSG.c.tenant == tenant, _MSG.c.id == id)
            ).scalar()
        return OutboundMessage.from_json(json.loads(doc)) if doc else None

    def messages(self, tenant: str, conversation: str) -> list[OutboundMessage]:
        return self._messages_where(_MSG.c.tenant == tenant, _MSG.c.conversation == conversation)

    def _messages_where(self, *where: Any) -> list[OutboundMessage]:
        """The messages matching ``where``, oldest first."""
        with self._tx() as conn:
            docs = conn.execute(
                select(_MSG.c.doc).where(*where).order_by(_MSG.c.created_ms, _MSG.c.id)
            ).scalars()
            return [OutboundMessage.from_json(json.loads(doc)) for doc in docs]

    def close(self) -> None:
        self.engine.dispose()
