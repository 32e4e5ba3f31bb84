"""The TurnGateway: inbound messages → turns, per conversation, in this process.

For each admitted message (names checked, rate limits taken: :meth:`TurnService.admit`):

1. Its conversation's effective ``turn`` settings (for the step it is on) give ``debounce``,
   ``maxBurst`` and ``cancelInFlight``. Messages within ``debounce`` of each other join one
   burst (:class:`~runtime.turns.Coalescer`): it becomes one turn ``debounce`` after its last
   message, or at once when it reaches ``maxBurst``. Debounce 0 (the default) makes every
   message its own turn, at once.
2. One turn per conversation runs at a time here (and across processes, under the state's
   lease). A message for a conversation whose turn is running asks that turn to stop when
   ``cancelInFlight`` is ``safe``: it stops at its next safe point if it has run only pure
   tools, gives its messages back, and they run in one turn with the new ones. Otherwise the
   new burst queues and runs next, in arrival order.
3. Every message's caller gets its own answer: ``processed`` (its message led a turn),
   ``coalesced`` (folded into a turn an earlier message led; the same body), ``duplicate``
   (seen within 5 minutes, or twice in a burst), or ``queued`` when the turn that will include
   it has not finished within the caller's wait (the message is accepted and will run; a
   retry of it is then a ``duplicate``).

Bursts that become due are released by a timer thread (:meth:`start`), which also has the
service reconcile tool calls that dead processes left in flight (every half lease, in a
worker), or by :meth:`pump` on a simulated clock (``inline=True`` runs turns in the caller's thread, for simulations and tests).
Coalescing and cancellation are per process; the lease and the inbound log keep two processes
sharing a state backend from running one conversation's turns at once or a message twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runtime.brain import CancelToken, CompiledSnapshot, TurnCancelled
from runtime.conversations import TurnRequest, TurnResponse, TurnService
from runtime.durations import parse_duration
from runtime.turns import Coalescer, ReadyBurst

log = logging.getLogger("focal.runtime.gateway")

WAIT_S = 25.0  # how long a caller waits for its turn before it is answered ``queued``


@dataclass(frozen=True, slots=True)
class TurnPolicy:
    """A conversation's effective ``turn`` settings where it stands."""

    debounce_s: float
    max_burst: int
    cancel_in_flight: str  # never | safe

    @classmethod
    def of(cls, settings: dict[str, Any]) -> TurnPolicy:
        turn = settings.get("turn") or {}
        return cls(
            parse_duration(str(turn.get("debounce", "0"))) / 1000,
            int(turn.get("maxBurst", 10)),
            str(turn.get("cancelInFlight", "safe")),
        )


@dataclass(slots=True)
class _Inbound:
    request: TurnRequest
    done: Future[TurnResponse] = field(default_factory=Future)

    @property
    def id(self) -> str:
        return self.request.message_id


@dataclass(slots=True)
class _Conversation:
    """This process's view of one conversation: its running turn, what waits behind it."""

    running: CancelToken | None = None
    running_ids: set[str] = field(default_factory=set)
    queue: deque[list[_Inbound]] = field(default_factory=deque)
    carry: list[_Inbound] = field(default_factory=list)  # a cancelled turn's messages


class TurnGateway:
    def __init__(
        self,
        service: TurnService,
        *,
        workers: int = 8,
        wait_s: float = WAIT_S,
        inline: bool = False,
    ) -> None:
        self.service = service
        self.wait_s = wait_s
        self.inline = inline
        self.coalescer: Coalescer[_Inbound] = Coalescer()
        self._conversations: dict[tuple[str, str], _Conversation] = {}
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pool = None if inline else ThreadPoolExecutor(workers, "focal-turn")
        self._timer: threading.Thread | None = None
        self._closed = False
        self._max_debounce: dict[tuple[str, str, str], float] = {}
        self._recovering = threading.Lock()

    # -- the caller's side --------------------------------------------------------------------

    def handle(self, request: TurnRequest, wait_s: float | None = None) -> TurnResponse:
        """Admit ``request`` and wait for the turn that includes it (see the module doc)."""
        done = self.submit(request)
        try:
            return done.result(timeout=self.wait_s if wait_s is None else wait_s)
        except FutureTimeout:
            active = self.service.snapshots.get(request.tenant)
            return TurnResponse("queued", None, active.id if active else "none")

    def submit(self, request: TurnRequest) -> Future[TurnResponse]:
        """Admit ``request`` (raises :class:`~runtime.conversations.TurnError`) and hand it to
        its conversation; the future resolves with its answer."""
        compiled = self.service.admit(request)
        key = (request.tenant, request.conversation_id)
        policy = self._policy(request, compiled, running=key in self._conversations)
        inbound = _Inbound(request)
        run_here: list[list[_Inbound]] = []  # batches this caller runs in its own thread
        with self._lock:
            conv = self._conversations.get(key)
            duplicate = conv is not None and request.message_id in conv.running_ids
            offered = None
            if not duplicate:
                offered = self.coalescer.offer(
                    _key(key),
                    inbound,
                    policy.debounce_s,
                    policy.max_burst,
                    self.service.clock.now(),
                )
                duplicate = offered.duplicate
            if offered is not None and not duplicate:
                running = conv.running if conv is not None else None
                if running is not None and policy.cancel_in_flight == "safe":
                    running.cancel()
                for burst in offered.ready:
                    batch = self._dispatch(key, burst)
                    if batch is None:
                        continue
                    if self.inline or (not run_here and any(m is inbound for m in batch)):
                        run_here.append(batch)  # the caller waits anyway: its own thread
                    else:
                        self._spawn(key, batch)
                if not offered.ready:
                    self._wake.notify()  # a new or moved deadline for the timer
        if duplicate:  # a redelivery of a message waiting in its burst or in the running turn
            self.service.dropped([request])
            return _answered(TurnResponse("duplicate", None, compiled.id))
        for batch in run_here:
            self._drain(key, batch, inline=True)
        return inbound.done

    # -- the timer's side ---------------------------------------------------------------------

    def pump(self, now: datetime | None = None) -> int:
        """Run every burst due by ``now`` (default: the clock's now); returns how many."""
        bursts = self.coalescer.due(now or self.service.clock.now())
        for burst in bursts:
            key = _split(burst.conversation)
            with self._lock:
                batch = self._dispatch(key, burst)
            if batch is not None:
                if self.inline:
                    self._drain(key, batch, inline=True)
                else:
                    self._spawn(key, batch)
        return len(bursts)

    def next_deadline(self) -> datetime | None:
        return self.coalescer.next_deadline()

    def start(self) -> None:
        """Start the timer thread that releases bursts when their window closes."""
        if self.inline or self._timer is not None:
            return
        self._timer = threading.Thread(target=self._tick, name="focal-turn-timer", daemon=True)
        self._timer.start()

    def close(self) -> None:
        """Run what is pending now, finish running turns, stop the timer and the workers."""
        with self._lock:
            self._closed = True
            self._wake.notify()
        if self._timer is not None:
            self._timer.join(timeout=5)
        for burst in self.coalescer.drain():
            key = _split(burst.conversation)
            with self._lock:
                batch = self._dispatch(key, burst)
            if batch is not None:
                self._drain(key, batch, inline=True)
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _tick(self) -> None:
        clock = self.service.clock
        every = max(1.0, self.service.lease.total_seconds() / 2)
        next_sweep = time.monotonic()
        while True:
            if time.monotonic() >= next_sweep and self._pool is not None:
                next_sweep = time.monotonic() + every
                self._pool.submit(self._recover)
            with self._lock:
                if self._closed:
                    return
                deadline = self.coalescer.next_deadline()
                delay = 1.0 if deadline is None else (deadline - clock.now()).total_seconds()
                if delay > 0:
                    self._wake.wait(min(delay, every))
                if self._closed:
                    return
            self.pump()

    def _recover(self) -> None:
        if not self._recovering.acquire(blocking=False):
            return  # the last sweep is still asking an endpoint
        try:
            changed = self.service.recover()
            if changed:
                log.warning(
                    "reconciled %d tool call(s) left in flight by a stopped process", changed
                )
        except Exception:
            log.exception("reconciling tool calls left in flight failed; retrying next sweep")
        finally:
            self._recovering.release()

    # -- running turns ------------------------------------------------------------------------

    def _dispatch(self, key: tuple[str, str], burst: ReadyBurst[_Inbound]) -> list[_Inbound] | None:
        """Under the lock: the batch to run now for ``burst``, or None when it queues behind
        the conversation's running turn."""
        conv = self._conversations.setdefault(key, _Conversation())
        if conv.running is not None:
            conv.queue.append(list(burst.messages))
            return None
        return self._begin(conv, list(burst.messages))

    @staticmethod
    def _begin(conv: _Conversation, messages: list[_Inbound]) -> list[_Inbound]:
        batch, conv.carry = conv.carry + messages, []
        conv.running = CancelToken()
        conv.running_ids = {m.id for m in batch}
        return batch

    def _spawn(self, key: tuple[str, str], batch: list[_Inbound]) -> None:
        assert self._pool is not None
        self._pool.submit(self._drain, key, batch, inline=False)

    def _drain(self, key: tuple[str, str], batch: list[_Inbound], *, inline: bool) -> None:
        """Run ``batch``, then whatever queued behind it (in a worker, not the caller's
        thread, unless the gateway is inline)."""
        while True:
            conv = self._conversations[key]
            token = conv.running
            cancelled = False
            try:
                answers = self.service.run([m.request for m in batch], cancel=token)
            except TurnCancelled:
                cancelled = True
            except BaseException as exc:
                for m in batch:
                    if not m.done.done():
                        m.done.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
            else:
                for m, answer in zip(batch, answers, strict=True):
                    m.done.set_result(answer)
            with self._lock:
                conv.running, conv.running_ids = None, set()
                if cancelled:
                    conv.carry = batch + conv.carry
                if conv.queue:
                    batch = self._begin(conv, conv.queue.popleft())
                    if inline and not self.inline:
                        self._spawn(key, batch)  # the caller has its answer: go on elsewhere
                        return
                    continue
                if not conv.carry:
                    del self._conversations[key]
                return

    # -- settings -----------------------------------------------------------------------------

    def _policy(
        self, request: TurnRequest, compiled: CompiledSnapshot, *, running: bool
    ) -> TurnPolicy:
        """The conversation's turn policy where it stands. When no step of the agent on this
        channel sets a debounce and no turn of it runs here, that is known without reading the
        conversation."""
        active = self.service.snapshots.get(request.tenant)
        assert active is not None
        ceiling = self._ceiling(request, compiled)
        if ceiling == 0 and not running:
            return TurnPolicy(0.0, 1, "safe")
        conv = self.service.state.load(request.tenant, request.conversation_id)
        try:
            settings = active.effective(
                request.agent,
                conv.scenario if conv else None,
                conv.step if conv and conv.scenario else None,
                request.channel,
            )["settings"]
        except (KeyError, ValueError):  # its step is gone from this snapshot: agent-level
            settings = active.effective(request.agent, None, None, request.channel)["settings"]
        return TurnPolicy.of(settings)

    def _ceiling(self, request: TurnRequest, compiled: CompiledSnapshot) -> float:
        """The largest debounce any (scenario, step) of the agent has on this channel."""
        cache_key = (compiled.id, request.agent, request.channel)
        found = self._max_debounce.get(cache_key)
        if found is None:
            active = self.service.snapshots.get(request.tenant)
            assert active is not None
            agent = compiled.agent(request.agent) or {}
            places: list[tuple[str | None, str | None]] = [(None, None)]
            for name in agent.get("scenarios", []):
                scenario = compiled.scenario(name)
                if scenario is not None:
                    places += [(name, None)] + [(name, step) for step in scenario.steps]
            found = max(
                TurnPolicy.of(
                    active.effective(request.agent, s, st, request.channel)["settings"]
                ).debounce_s
                for s, st in places
            )
            if len(self._max_debounce) > 1024:
                self._max_debounce.clear()
            self._max_debounce[cache_key] = found
        return found


def _key(key: tuple[str, str]) -> str:
    return f"{key[0]}\x1f{key[1]}"


def _split(key: str) -> tuple[str, str]:
    tenant, conversation = key.split("\x1f", 1)
    return tenant, conversation


def _answered(response: TurnResponse) -> Future[TurnResponse]:
    done: Future[TurnResponse] = Future()
    done.set_result(response)
    return done


__all__ = ["WAIT_S", "TurnGateway", "TurnPolicy"]
