"""The agenda's scheduler: fire the ScheduledActions that are due, once, across processes.

Each :meth:`Scheduler.tick` claims due actions (the state port makes a claim exclusive for a
lease) and, for each one: an expired action is closed ``expired``; otherwise its goal's message
is rendered (the sandboxed template, with the profile and slots stored when it was triggered)
and offered to the channel ladder (the goal's ``channels``, else the agent's, each followed by
its profile's ``fallback``) by :func:`~runtime.agenda.ladder.walk`: a profile is skipped when
outbound permission refuses it (consent, quiet hours, ``outbound``) or its delivery fails, and
the next one is tried, the message formatted anew for it. A profile whose outbound
``rateLimit`` has no room stops the walk and the action is postponed until it has (not an
attempt; the buckets are this process's). The first profile that takes the message closes the
action ``sent`` and is recorded as an :class:`~runtime.ports.OutboundMessage` (id
``f"{action}:{attempt}"``, status ``sent``, the rest of the ladder, the hops so far). When
none did: if quiet hours were the only reason, the action is postponed to when the window
opens (not an attempt); else it is retried after ``retryAfter`` until ``maxAttempts``, then
closed ``failed``.

:meth:`Scheduler.receipt` applies a delivery receipt to a recorded message (statuses only
move forward); a ``failed`` one walks the rest of its ladder (profiles not tried yet, the
same permission check and formatting), and the message is ``sent`` again on the profile that
takes it, or ``undeliverable`` when none does. A message a process left ``failed`` when it
died before its fallback is found a lease later by :meth:`Scheduler.sweep_failed` in any
process, claimed, and fallen back (``delivery.recovered``). Every hop and every receipt is
audited.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from runtime.agenda.ladder import Send, Walk, expand, walk
from runtime.agenda.outbound import Outbound
from runtime.brain import CompiledSnapshot
from runtime.conversations import TurnService
from runtime.durations import parse_duration
from runtime.ports import (
    ActionStatus,
    AuditEvent,
    MessageStatus,
    OutboundMessage,
    ScheduledAction,
)
from runtime.turns.ratelimit import TokenBuckets

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
        self.limits = TokenBuckets(self.clock)  # profiles' outbound rate limits, this process

    def tick(self) -> int:
        """Fire what is due now, and fall back the messages a dead process left ``failed``;
        returns how many actions were handled."""
        self.sweep_failed()
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
        context = self._context(compiled, action.agent, action.data, now)
        try:
            text = compiled.template(goal["message"])(context).strip()
        except Exception as exc:  # a template that cannot render will not render on retry
            self._close(action, ActionStatus.FAILED, now, error=f"message: {exc}")
            return
        agent = compiled.agent(action.agent) or {}
        ladder = expand(goal.get("channels") or agent.get("channels") or [], compiled.body)
        customer = dict(action.data.get("profile") or {})
        message_id = f"{action.id}:{action.attempts + 1}"

        send = self._sender(action.tenant, action.conversation, message_id, now)
        walked = walk(ladder, text, compiled, context, customer, now, send, limits=self.limits)
        self._audit_hops(action.tenant, action.conversation, message_id, walked, now)
        if walked.sent is not None:
            profile, channel, parts = walked.sent
            self.state.record(
                OutboundMessage(
                    tenant=action.tenant,
                    id=message_id,
                    conversation=action.conversation,
                    action=action.id,
                    profile=profile,
                    channel=channel,
                    parts=parts,
                    text=text,
                    status=MessageStatus.SENT,
                    ladder=walked.remaining,
                    hops=tuple(walked.hops),
                    created_at=now,
                    updated_at=now,
                )
            )
            self._close(action, ActionStatus.SENT, now, channel=profile, hops=walked.hops)
            return
        if walked.reopen is not None and (walked.limited or not walked.failed):
            self._again(action, now, walked.reopen, walked.hops, postpone=True)
        elif action.attempts + 1 < action.max_attempts and now < action.expires_at:
            retry = timedelta(milliseconds=parse_duration(goal.get("retryAfter", "1h")))
            self._again(action, now, now + retry, walked.hops, postpone=False)
        else:
            self._close(action, ActionStatus.FAILED, now, error="undeliverable", hops=walked.hops)

    def sweep_failed(self) -> int:
        """Fall back the messages still ``failed`` a lease after their receipt: the process
        that took the receipt died before walking the rest of the ladder. Each is claimed
        first (one revision on, compare-and-set), so one process walks it; returns how many."""
        now = self.clock.now()
        swept = 0
        for stale in self.state.stale_failed(now - self.lease, self.batch):
            claimed = self.state.fall_back(stale.claimed(now))
            if claimed is None:
                continue  # another process claimed it (or fell it back) first
            self._audit_message(
                claimed, "delivery.recovered", now, since=stale.updated_at.isoformat()
            )
            self._fall_back(claimed, now)
            swept += 1
        return swept

    def receipt(
        self, tenant: str, message_id: str, status: str, error: str | None = None
    ) -> tuple[OutboundMessage, bool] | None:
        """Apply a delivery receipt: the message as it stands after it, and whether the
        receipt changed it (None when there is no such message). A ``failed`` receipt that
        changed it walks the rest of its ladder (:meth:`_fall_back`)."""
        now = self.clock.now()
        message, changed = self.state.receipt(tenant, message_id, status, now, error)
        if message is None:
            return None
        if changed:
            self._audit_message(
                message,
                "delivery.receipt",
                now,
                status=status,
                profile=message.profile,
                **({"error": error} if error else {}),
            )
            if message.status == MessageStatus.FAILED:
                message = self._fall_back(message, now)
        return message, changed

    def _fall_back(self, message: OutboundMessage, now: datetime) -> OutboundMessage:
        """Offer a failed message to the profiles left on its ladder, never one it was already
        offered to; store it ``sent`` on the first that takes it, else ``undeliverable``."""
        active = self.service.snapshots.get(message.tenant)
        if active is None:
            return message  # not served here: the message stays failed
        compiled = self.service.compiled(active.id, active.raw)
        action = next(
            (
                a
                for a in self.state.actions(message.tenant, message.conversation)
                if a.id == message.action
            ),
            None,
        )
        data = action.data if action is not None else {}
        context = self._context(compiled, action.agent if action else None, data, now)

        walked = walk(
            message.ladder,
            message.text or "\n\n".join(message.parts),
            compiled,
            context,
            dict(data.get("profile") or {}),
            now,
            self._sender(message.tenant, message.conversation, message.id, now),
            tried=message.tried(),
            limits=self.limits,
        )
        if walked.limited:  # stays failed: a sweep a lease later walks it again
            self._audit_hops(message.tenant, message.conversation, message.id, walked, now)
            return message
        sent = None if walked.sent is None else (*walked.sent, walked.remaining)
        stored = self.state.fall_back(message.fell_back(now, walked.hops, sent))
        if stored is None:  # another process fell back first (a sweep that claimed it late)
            return self.state.message(message.tenant, message.id) or message
        self._audit_hops(message.tenant, message.conversation, message.id, walked, now)
        if stored.status == MessageStatus.UNDELIVERABLE:
            self._audit_message(stored, "delivery.undeliverable", now, tried=sorted(stored.tried()))
        return stored

    def _sender(self, tenant: str, conversation: str, message_id: str, now: datetime) -> Send:
        """How the ladder hands one message to the outbound port: with the profile's channel
        type and its ``delivery`` block (its own endpoint, if it has one)."""

        def send(profile: str, spec: Mapping[str, Any], parts: Sequence[str]) -> None:
            self.outbound.send(
                tenant,
                conversation,
                profile,
                str(spec["channel"]),
                parts,
                now,
                message_id,
                delivery=spec.get("delivery"),
            )

        return send

    def _audit_hops(
        self, tenant: str, conversation: str, message_id: str, walked: Walk, now: datetime
    ) -> None:
        self.state.append_many(
            [
                AuditEvent(
                    tenant,
                    "delivery.hop",
                    now,
                    conversation,
                    None,
                    {"message": message_id, **hop},
                    self.service.stream,
                )
                for hop in walked.hops
            ]
        )

    def _audit_message(
        self, message: OutboundMessage, kind: str, now: datetime, **data: Any
    ) -> None:
        self.state.append(
            AuditEvent(
                message.tenant,
                kind,
                now,
                message.conversation,
                None,
                {"message": message.id, "action": message.action, **data},
                self.service.stream,
            )
        )

    def _context(
        self,
        compiled: CompiledSnapshot,
        agent: str | None,
        data: Mapping[str, Any],
        now: datetime,
    ) -> dict[str, Any]:
        """What the message and the profiles' greeting and signature are rendered with."""
        tenant = compiled.tenant
        return {
            "profile": data.get("profile") or {},
            "slots": data.get("slots") or {},
            "tenant": {"name": tenant.get("name"), **tenant.get("spec", {})},
            "agent": {"name": agent, **((compiled.agent(agent) or {}) if agent else {})},
            "now": compiled.now_context(now),
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
