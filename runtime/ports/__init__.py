"""State ports: conversations (with the inbound message ids their turns took), tool call
records, the audit stream, the agenda (scheduled actions, each claimed by one process) and
outbound messages with their delivery receipts.

Each port is a Protocol (:mod:`runtime.ports.base`) with three implementations side by side:
in memory (one process: tests, simulate), Redis and SQL (SQLite or PostgreSQL; shared by
every runtime process that points at it). One contract suite (``tests/contracts/``) runs
against all of them. Time comes from the :class:`Clock` port, never from a backend.
"""

from __future__ import annotations

from runtime.ports.base import (
    AgendaStore,
    AuditLog,
    ConversationStore,
    MessageLog,
    StateBackend,
    ToolCallLog,
)
from runtime.ports.clock import Clock, SimulatedClock, SystemClock
from runtime.ports.records import (
    ActionKind,
    ActionStatus,
    AuditEvent,
    CallStatus,
    Conversation,
    MessageStatus,
    OutboundMessage,
    PendingConfirmation,
    ScheduledAction,
    ToolCall,
)

__all__ = [
    "ActionKind",
    "ActionStatus",
    "AgendaStore",
    "AuditEvent",
    "AuditLog",
    "CallStatus",
    "Clock",
    "Conversation",
    "ConversationStore",
    "MessageLog",
    "MessageStatus",
    "OutboundMessage",
    "PendingConfirmation",
    "ScheduledAction",
    "SimulatedClock",
    "StateBackend",
    "StateError",
    "SystemClock",
    "ToolCall",
    "ToolCallLog",
    "open_state",
]


class StateError(ValueError):
    """A ``--state`` URL that cannot be used, with what to do instead."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def open_state(url: str) -> StateBackend:
    """``memory``, ``redis://HOST:PORT/DB[?prefix=P]``, ``sqlite:///PATH`` or
    ``postgresql://…``. Backends are imported only when chosen."""
    if url == "memory":
        from runtime.ports.memory import MemoryState

        return MemoryState()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from runtime.ports.redis import RedisState

        return RedisState(url)
    if url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
        from runtime.ports.sql import SqlState

        return SqlState(url)
    raise StateError(
        f"unknown state backend {url!r}",
        "use memory, redis://HOST:PORT/DB, sqlite:///PATH or postgresql://USER@HOST/DB",
    )
