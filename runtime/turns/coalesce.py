"""The BurstCoalescer's decisions: which inbound messages become one turn, and when.

Per conversation, messages arriving within the effective ``turn.debounce`` are folded into one
burst of at most ``turn.maxBurst`` messages. The window restarts at every message, so a burst
becomes ready ``debounce`` after its last message; a burst that reaches ``maxBurst`` is ready at
once, and a debounce of 0 makes it ready with the message that closes it.

Pure state: time is the ``now`` each call is given, nothing sleeps. An async driver (or a test on
a simulated clock) offers messages, wakes at :meth:`Coalescer.next_deadline` and collects
:meth:`Coalescer.due` bursts. A message id already in the conversation's pending burst is a
duplicate and ignored (redeliveries after a burst is released are the inbound log's business).
"""

from __future__ import annotations

import heapq
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, Literal, Protocol, TypeVar


class Identified(Protocol):
    """An inbound message: anything with the channel's message ``id``."""

    @property
    def id(self) -> str: ...


M = TypeVar("M", bound=Identified)

#: Why a burst was released: its debounce window elapsed, it reached maxBurst, debounce 0, or
#: :meth:`Coalescer.drain` released it early.
Reason = Literal["window", "full", "immediate", "drained"]


@dataclass(frozen=True, slots=True)
class ReadyBurst(Generic[M]):
    """Messages of one conversation to handle as one turn, in arrival order."""

    conversation: str
    messages: tuple[M, ...]
    ready_at: datetime  # its deadline (window, drained), or the arrival that closed it
    reason: Reason


@dataclass(frozen=True, slots=True)
class Offered(Generic[M]):
    """The result of :meth:`Coalescer.offer`: bursts ready now, or the message was a duplicate."""

    ready: tuple[ReadyBurst[M], ...]
    duplicate: bool = False


@dataclass(slots=True)
class _Pending(Generic[M]):
    messages: list[M]
    ids: set[str]
    deadline: datetime
    generation: int  # matches the heap entry that is current for this burst


@dataclass(order=True, slots=True)
class _Entry:
    deadline: datetime
    seq: int  # ties: the burst whose deadline was set first goes first
    conversation: str = field(compare=False)
    generation: int = field(compare=False)


class Coalescer(Generic[M]):
    """Pending bursts per conversation key; thread-safe."""

    def __init__(self) -> None:
        self._pending: dict[str, _Pending[M]] = {}
        self._heap: list[_Entry] = []  # one current entry per pending burst, plus stale ones
        self._seq = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Messages pending, over all conversations."""
        with self._lock:
            return sum(len(p.messages) for p in self._pending.values())

    def offer(
        self,
        conversation: str,
        message: M,
        debounce_seconds: float,
        max_burst: int,
        now: datetime,
    ) -> Offered[M]:
        """Add ``message`` to its conversation's burst; returns the bursts it makes ready now.

        ``debounce_seconds`` and ``max_burst`` are the effective settings for this message; they
        may differ from the previous message's (another step): the window restarts with this
        message's debounce, and if a smaller ``max_burst`` leaves the burst over it, the burst is
        released in chunks of ``max_burst`` in arrival order, the rest kept pending.
        """
        if debounce_seconds < 0:
            raise ValueError(f"debounce must be >= 0 seconds, not {debounce_seconds}")
        if max_burst < 1:
            raise ValueError(f"maxBurst must be >= 1, not {max_burst}")
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        with self._lock:
            pending = self._pending.get(conversation)
            if pending is not None and message.id in pending.ids:
                return Offered((), duplicate=True)
            if pending is None:
                pending = _Pending([], set(), now, -1)
                self._pending[conversation] = pending
            pending.messages.append(message)
            pending.ids.add(message.id)
            ready: list[ReadyBurst[M]] = []
            while len(pending.messages) >= max_burst:
                chunk, pending.messages = pending.messages[:max_burst], pending.messages[max_burst:]
                ready.append(ReadyBurst(conversation, tuple(chunk), now, "full"))
            if pending.messages and debounce_seconds == 0:
                ready.append(ReadyBurst(conversation, tuple(pending.messages), now, "immediate"))
                pending.messages = []
            if not pending.messages:
                del self._pending[conversation]  # any heap entry for it is now stale
                return Offered(tuple(ready))
            if ready:  # chunks left: only the rest's ids are pending
                pending.ids = {m.id for m in pending.messages}
            pending.deadline = now + timedelta(seconds=debounce_seconds)
            self._seq += 1
            pending.generation = self._seq
            heapq.heappush(self._heap, _Entry(pending.deadline, self._seq, conversation, self._seq))
            if len(self._heap) > 2 * len(self._pending) + 64:  # mostly stale: amortised compaction
                self._heap = [e for e in self._heap if self._is_current(e)]
                heapq.heapify(self._heap)
            return Offered(tuple(ready))

    def due(self, now: datetime) -> list[ReadyBurst[M]]:
        """Release every burst whose window has elapsed by ``now``, earliest deadline first."""
        ready: list[ReadyBurst[M]] = []
        with self._lock:
            while self._heap and self._heap[0].deadline <= now:
                entry = heapq.heappop(self._heap)
                pending = self._pending.get(entry.conversation)
                if pending is None or pending.generation != entry.generation:
                    continue  # stale: the burst was released or its window restarted
                del self._pending[entry.conversation]
                ready.append(
                    ReadyBurst(
                        entry.conversation, tuple(pending.messages), entry.deadline, "window"
                    )
                )
        return ready

    def next_deadline(self) -> datetime | None:
        """When the earliest pending burst becomes due; ``None`` when nothing is pending."""
        with self._lock:
            self._drop_stale()
            return self._heap[0].deadline if self._heap else None

    def drain(self) -> list[ReadyBurst[M]]:
        """Release every pending burst now, whatever its deadline (shutdown, handover)."""
        with self._lock:
            self._drop_stale()
            entries = sorted(e for e in self._heap if self._is_current(e))
            ready = [
                ReadyBurst(
                    e.conversation,
                    tuple(self._pending[e.conversation].messages),
                    e.deadline,
                    "drained",
                )
                for e in entries
            ]
            self._pending.clear()
            self._heap.clear()
            return ready

    def _is_current(self, entry: _Entry) -> bool:
        pending = self._pending.get(entry.conversation)
        return pending is not None and pending.generation == entry.generation

    def _drop_stale(self) -> None:
        while self._heap and not self._is_current(self._heap[0]):
            heapq.heappop(self._heap)
