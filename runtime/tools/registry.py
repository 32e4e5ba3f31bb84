"""The ToolEffectRegistry: every tool call goes through it.

A call's idempotency key is the tool's ``idempotencyKey`` parameters (the business key), or
else the sha256 of its canonical (RFC 8785) args. The registry records the call *in flight*
before it executes (one atomic claim in the state backend), so:

- a repeat within the window (24 h) is answered from the record and never executes again, in
  this process or another one;
- a call whose tool needs confirmation (irreversible, or ``confirmation.required``) is refused
  unless the conversation confirmed exactly this key;
- a call found in flight after its process died is reconciled by :meth:`recover`: pure and
  idempotent calls may run again, irreversible and compensatable ones are marked ``unknown``
  and surfaced, never repeated blindly.

Every call, result, replay, refusal, compensation and recovery is an audit event.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from runtime.durations import parse_duration
from runtime.failpoints import failpoint
from runtime.ports import AuditEvent, AuditLog, CallStatus, Clock, StateBackend, ToolCall
from runtime.tools.gateways import Gateway, GatewayError
from runtime.tools.keys import idempotency_key

WINDOW = timedelta(hours=24)


class Outcome(StrEnum):
    EXECUTED = "executed"  # ran now, succeeded
    REPLAYED = "replayed"  # answered from an earlier call with the same key
    NEEDS_CONFIRMATION = "needs_confirmation"
    INVALID = "invalid"  # args do not fit the tool's parameters
    FAILED = "failed"
    IN_FLIGHT = "in_flight"  # another turn is executing it right now
    UNKNOWN = "unknown"  # was in flight when its process died: its effect is not known


@dataclass(frozen=True, slots=True)
class CallResult:
    outcome: Outcome
    key: str
    result: Any = None
    error: str | None = None


def needs_confirmation(spec: Mapping[str, Any]) -> bool:
    confirmation = spec.get("confirmation") or {}
    return spec.get("effect") == "irreversible" or bool(confirmation.get("required"))


_VALIDATORS: dict[str, Any] = {}


def _validator(schema: Mapping[str, Any]) -> Any:
    """One compiled validator per distinct parameters schema (a few per snapshot)."""
    from jsonschema import Draft202012Validator

    key = json.dumps(schema, sort_keys=True, default=str)
    found = _VALIDATORS.get(key)
    if found is None:
        if len(_VALIDATORS) > 1024:
            _VALIDATORS.clear()
        found = _VALIDATORS[key] = Draft202012Validator(schema)
    return found


def args_problems(spec: Mapping[str, Any], args: Mapping[str, Any]) -> list[str]:
    """What is wrong with ``args`` against the tool's ``parameters`` (a JSON Schema)."""
    validator = _validator(spec.get("parameters") or {"type": "object"})
    return [
        f"{'.'.join(str(p) for p in e.absolute_path) or 'args'}: {e.message}"
        for e in sorted(validator.iter_errors(dict(args)), key=lambda e: list(e.absolute_path))
    ]


class ToolEffectRegistry:
    def __init__(
        self,
        state: StateBackend,
        clock: Clock,
        gateways: Mapping[str, Gateway],
        *,
        stream: str = "live",
        window: timedelta = WINDOW,
        audit: AuditLog | None = None,
    ) -> None:
        self.state = state
        self.audit: AuditLog = audit if audit is not None else state
        self.clock = clock
        self.gateways = dict(gateways)
        self.stream = stream
        self.window = window

    def _audit(
        self, tenant: str, kind: str, conversation: str | None, turn: str | None, **data: Any
    ) -> None:
        self.audit.append(
            AuditEvent(tenant, kind, self.clock.now(), conversation, turn, data, self.stream)
        )

    def call(
        self,
        tenant: str,
        tool: str,
        spec: Mapping[str, Any],
        args: Mapping[str, Any],
        *,
        confirmed: Collection[str] = (),
        conversation: str | None = None,
        turn: str | None = None,
    ) -> CallResult:
        key = idempotency_key(tool, spec, args)
        ids = {"conversation": conversation, "turn": turn}
        problems = args_problems(spec, args)
        if problems:
            self._audit(tenant, "tool.invalid", **ids, tool=tool, key=key, problems=problems)
            return CallResult(Outcome.INVALID, key, error="; ".join(problems))
        if needs_confirmation(spec) and key not in confirmed:
            self._audit(tenant, "tool.refused", **ids, tool=tool, key=key, reason="not confirmed")
            return CallResult(Outcome.NEEDS_CONFIRMATION, key)
        now = self.clock.now()
        record = ToolCall(
            tenant,
            key,
            tool,
            dict(args),
            CallStatus.IN_FLIGHT,
            now,
            now + self.window,
            conversation,
            turn,
        )
        existing = self.state.begin(record)
        if existing is not None:
            replay = self._replay(tenant, tool, spec, existing, conversation, turn)
            if replay is not None:
                return replay
        return self._execute(tenant, tool, spec, args, key, conversation, turn)

    def _replay(
        self,
        tenant: str,
        tool: str,
        spec: Mapping[str, Any],
        existing: ToolCall,
        conversation: str | None,
        turn: str | None,
    ) -> CallResult | None:
        """The answer from an earlier record, or None when the call may run again (a failed
        pure or idempotent call, re-claimed)."""
        ids = {"conversation": conversation, "turn": turn}
        key = existing.key
        if existing.status in (CallStatus.SUCCEEDED, CallStatus.COMPENSATED):
            self._audit(
                tenant, "tool.replayed", **ids, tool=tool, key=key, status=str(existing.status)
            )
            return CallResult(Outcome.REPLAYED, key, existing.result)
        if existing.status == CallStatus.IN_FLIGHT:
            return CallResult(Outcome.IN_FLIGHT, key)
        if existing.status == CallStatus.UNKNOWN:
            return CallResult(Outcome.UNKNOWN, key, error="its earlier attempt's effect is unknown")
        if spec.get("effect") in ("pure", "idempotent"):
            self.state.finish(tenant, key, CallStatus.IN_FLIGHT, self.clock.now())
            return None
        self._audit(tenant, "tool.replayed", **ids, tool=tool, key=key, status="failed")
        return CallResult(Outcome.FAILED, key, error=existing.error)

    def _execute(
        self,
        tenant: str,
        tool: str,
        spec: Mapping[str, Any],
        args: Mapping[str, Any],
        key: str,
        conversation: str | None,
        turn: str | None,
    ) -> CallResult:
        ids = {"conversation": conversation, "turn": turn}
        self._audit(tenant, "tool.call", **ids, tool=tool, key=key, effect=spec.get("effect"))
        try:
            gateway = self._gateway(spec)
            failpoint("tool.before", tool)
            result = gateway.call(tool, spec, args)
            failpoint("tool.after", tool)
        except GatewayError as exc:
            self.state.finish(tenant, key, CallStatus.FAILED, self.clock.now(), error=str(exc))
            self._audit(tenant, "tool.error", **ids, tool=tool, key=key, error=str(exc))
            return CallResult(Outcome.FAILED, key, error=str(exc))
        self.state.finish(tenant, key, CallStatus.SUCCEEDED, self.clock.now(), result=result)
        self._audit(tenant, "tool.result", **ids, tool=tool, key=key)
        return CallResult(Outcome.EXECUTED, key, result)

    def _gateway(self, spec: Mapping[str, Any]) -> Gateway:
        kind = str((spec.get("gateway") or {}).get("type") or "internal")
        gateway = self.gateways.get(kind)
        if gateway is None:
            raise GatewayError(f"no '{kind}' gateway is configured in this runtime")
        return gateway

    def compensate(
        self,
        tenant: str,
        key: str,
        compensation: str,
        compensation_spec: Mapping[str, Any],
        *,
        conversation: str | None = None,
        turn: str | None = None,
    ) -> CallResult:
        """Undo a succeeded compensatable call: run its compensation tool with the same args,
        then mark the original ``compensated``."""
        original = self.state.lookup(tenant, key)
        if original is None or original.status != CallStatus.SUCCEEDED:
            status = original.status if original else "missing"
            return CallResult(Outcome.FAILED, key, error=f"nothing to compensate ({status})")
        done = self.call(
            tenant,
            compensation,
            compensation_spec,
            original.args,
            confirmed={idempotency_key(compensation, compensation_spec, original.args)},
            conversation=conversation,
            turn=turn,
        )
        if done.outcome in (Outcome.EXECUTED, Outcome.REPLAYED):
            self.state.finish(
                tenant, key, CallStatus.COMPENSATED, self.clock.now(), result=original.result
            )
            self._audit(
                tenant,
                "tool.compensated",
                conversation,
                turn,
                tool=original.tool,
                key=key,
                compensation=compensation,
            )
        return done

    def recover(
        self, tenant: str, specs: Mapping[str, Mapping[str, Any]], *, grace: timedelta | None = None
    ) -> list[ToolCall]:
        """Reconcile calls left in flight by a dead process (older than the tool's timeout
        plus ``grace``). Pure and idempotent ones are released to run again. An irreversible or
        compensatable one whose tool declares an ``idempotencyKey`` is asked again with the
        same key (its endpoint answers a repeat from its own record, as payment APIs do with
        ``Idempotency-Key``): its answer completes the record (``tool.reconciled``); if the
        endpoint cannot be reached, it stays in flight for the next sweep. Any other is marked
        ``unknown`` and surfaced, never repeated. Returns the calls it changed."""
        now = self.clock.now()
        changed = []
        for call in self.state.in_flight(tenant):
            spec = specs.get(call.tool, {})
            timeout = timedelta(milliseconds=parse_duration(str(spec.get("timeout", "10s"))))
            if call.started_at + timeout + (grace or timedelta(seconds=30)) > now:
                continue  # may still be running somewhere
            result: Any = None
            error: str | None = "in flight when its process stopped"
            if spec.get("effect") in ("pure", "idempotent"):
                status, kind = CallStatus.FAILED, "tool.released"
            elif spec.get("idempotencyKey"):
                try:
                    result = self._gateway(spec).call(call.tool, spec, call.args)
                except GatewayError as exc:
                    self._audit(
                        tenant,
                        "tool.reconcile_failed",
                        call.conversation,
                        call.turn,
                        tool=call.tool,
                        key=call.key,
                        error=str(exc),
                    )
                    continue
                status, kind, error = CallStatus.SUCCEEDED, "tool.reconciled", None
            else:
                status, kind = CallStatus.UNKNOWN, "tool.unknown"
            updated = self.state.finish(tenant, call.key, status, now, result=result, error=error)
            if updated is not None:
                changed.append(updated)
                self._audit(
                    tenant, kind, call.conversation, call.turn, tool=call.tool, key=call.key
                )
        return changed
