"""The agenda's scheduler: fire the ScheduledActions that are due, once, across processes.

Each :meth:`Scheduler.tick` claims due actions (the state port makes a claim exclusive for a
lease) and, for each one: an expired action is closed ``expired``; otherwise its goal's message
is rendered (the sandboxed template, with the profile and slots stored when it was triggered)
and offered to the channel ladder (the goal's ``channels``, else the agent's) in order. A
profile is skipped when outbound permission refuses it (consent, quiet hours, ``outbound``)
or its delivery fails, and the next one is tried, the message formatted anew for it. The first
that takes it closes the action ``sent``. When none did: if quiet hours were the only reason,
the action is postponed to when the window opens (not an attempt); else it is retried after
``retryAfter`` until ``maxAttempts``, then closed ``failed``. Every hop is audited.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from runtime.agenda import permission
from runtime.agenda.outbound import DeliveryError, Outbound
from runtime.brain import CompiledSnapshot
from runtime.channels import format_reply
from runtime.conversations import TurnService
from runtime.durations import parse_duration
from runtime.ports import ActionStatus, AuditEvent, ScheduledAction

log = logging.getLogger("focal.runtime.agenda")

LEASE = timedelta(minutes=2)
BATCH = 100


class Scheduler:
    def __init__(
        self,
        service: TurnService,
        outbound: Outbound,
        *,
        holder: str | None = None,
        lease: timedelta = LEASE,
        batch: int = BATCH,
    ) -> None:
        self.service = service
        self.state = service.state
        self.clock = service.clock
        self.outbound = outbound
        self.holder = holder or f"scheduler-{uuid.uuid4().hex[:8]}"
        self.lease, self.batch = lease, batch

    def tick(self) -> int:
        """Fire what is due now; returns how many actions were handled."""
        handled = 0
        while True:
            now = self.clock.now()
            actions = self.state.claim_due(None, now, self.holder, self.lease, self.batch)
            for action in actions:
                try:
                    self._fire(action, now)
                except Exception:  # one bad action never stops the others
                    log.exception("agenda action %s/%s failed", action.tenant, action.id)
            handled += len(actions)
            if len(actions) < self.batch:
                return handled

    def _fire(self, action: ScheduledAction, now: datetime) -> None:
        active = self.service.snapshots.get(action.tenant)
        if active is None:
            return  # not served here yet: the claim lapses and a process that serves it fires it
        compiled = self.service.compiled(active.id, active.raw)
        goal = compiled.goal(action.goal)
        if goal is None:
            self._close(action, ActionStatus.CANCELLED, now, error="the goal is gone")
            return
        if now >= action.expires_at:
            self._close(action, ActionStatus.EXPIRED, now)
            return
        try:
            text = compiled.template(goal["message"])(self._context(compiled, action, now))
            text = text.strip()
        except Exception as exc:  # a template that cannot render will not render on retry
            self._close(action, ActionStatus.FAILED, now, error=f"message: {exc}")
            return
        agent = compiled.agent(action.agent) or {}
        ladder = list(goal.get("channels") or agent.get("channels") or [])
        customer = dict(action.data.get("profile") or {})
        tenant = compiled.tenant.get("spec", {})
        hops: list[dict[str, Any]] = []
        reopen: datetime | None = None
        context = self._context(compiled, action, now)
        for name in ladder:
            profile = compiled.channel_rendered(name, context) if compiled.channel(name) else None
            if profile is None:
                hops.append({"channel": name, "result": "unknown profile"})
                continue
            allowed = permission.check(tenant, profile, customer, now)
            if not allowed.allowed:
                hops.append({"channel": name, "result": allowed.reason})
                if allowed.retry_at is not None:
                    reopen = min(reopen or allowed.retry_at, allowed.retry_at)
                continue
            formatted = format_reply(text, profile)
            try:
                self.outbound.send(
                    action.tenant,
                    action.conversation,
                    name,
                    profile["channel"],
                    formatted.parts,
                    now,
                )
            except DeliveryError as exc:
                hops.append({"channel": name, "result": "failed", "error": str(exc)})
                continue
            hops.append({"channel": name, "result": "sent", "parts": len(formatted.parts)})
            self._close(action, ActionStatus.SENT, now, channel=name, hops=hops)
            return
        failed = any(h["result"] in ("failed", "unknown profile") for h in hops)
        if reopen is not None and not failed:
            self._again(action, now, reopen, hops, postpone=True)
        elif action.attempts + 1 < action.max_attempts and now < action.expires_at:
            retry = timedelta(milliseconds=parse_duration(goal.get("retryAfter", "1h")))
            self._again(action, now, now + retry, hops, postpone=False)
        else:
            self._close(action, ActionStatus.FAILED, now, error="undeliverable", hops=hops)

    def _context(
        self, compiled: CompiledSnapshot, action: ScheduledAction, now: datetime
    ) -> dict[str, Any]:
        tenant = compiled.tenant
        local = now.astimezone(compiled.zone)
        return {
            "profile": action.data.get("profile") or {},
            "slots": action.data.get("slots") or {},
            "tenant": {"name": tenant.get("name"), **tenant.get("spec", {})},
            "agent": {"name": action.agent, **(compiled.agent(action.agent) or {})},
            "now": {
                "iso": now.isoformat(),
                "date": local.date().isoformat(),
                "time": local.strftime("%H:%M"),
            },
        }

    def _again(
        self,
        action: ScheduledAction,
        now: datetime,
        when: datetime,
        hops: list[dict[str, Any]],
        *,
        postpone: bool,
    ) -> None:
        done = self.state.complete(
            action.tenant,
            action.id,
            self.holder,
            ActionStatus.PENDING,
            now,
            error=None if postpone else "undelivered",
            next_due=when,
            postpone=postpone,
        )
        if done is not None:
            kind = "agenda.postponed" if postpone else "agenda.retry"
            self._audit(action, kind, now, hops=hops, next=when.isoformat())

    def _close(
        self,
        action: ScheduledAction,
        status: ActionStatus,
        now: datetime,
        *,
        channel: str | None = None,
        error: str | None = None,
        hops: list[dict[str, Any]] | None = None,
    ) -> None:
        done = self.state.complete(
            action.tenant, action.id, self.holder, status, now, channel=channel, error=error
        )
        if done is not None:  # else another process took it over: it reports
            self._audit(action, f"agenda.{status}", now, hops=hops or [], error=error)

    def _audit(self, action: ScheduledAction, kind: str, now: datetime, **data: Any) -> None:
        self.state.append(
            AuditEvent(
                action.tenant,
                kind,
                now,
                action.conversation,
                None,
                {"action": action.id, "goal": action.goal, "attempt": action.attempts + 1, **data},
                self.service.stream,
            )
        )
