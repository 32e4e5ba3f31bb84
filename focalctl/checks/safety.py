"""Invariant 7, side-effect safety of tools and of the steps that bind them.

- FOC503: a compensatable tool names its ``compensation`` tool;
  FOC504: that compensation is not itself irreversible.
- FOC505: an irreversible tool has ``confirmation.required: true``;
  FOC511: and a ``confirmation.prompt`` (the question every binding of it asks; empty or
  missing, the customer would be asked nothing);
  FOC506: it has an ``idempotencyKey``;
  FOC507: every idempotencyKey field is a property of its ``parameters`` (any effect).
- FOC508: a step that binds an irreversible tool is a checkpoint or comes after one (a
  checkpoint dominates it, see :mod:`focalctl.checks.graph`). Only judged on a complete graph
  and for reachable steps; otherwise FOC302/FOC401/FOC402 already explain the problem.
- FOC509: a binding's ``args`` name only properties of the tool's ``parameters`` (unless the
  schema sets ``additionalProperties`` to true or a schema) and give every ``required`` one.

Bad::

    kind: ToolEffect
    metadata: {name: issue-refund, tenant: acme}
    spec: {effect: irreversible}                      # FOC505 + FOC506
    ---
    steps:
      - id: start                                     # no checkpoint on the way
        tools: [{tool: issue-refund, args: {ordr: "1"}}]   # FOC508, FOC509 (x2)

Good::

    spec:
      effect: irreversible
      confirmation: {required: true, prompt: "Refund {{ args.order_id }}?"}
      idempotencyKey: [order_id]
      parameters: {type: object, required: [order_id], properties: {order_id: {type: string}}}
    ---
    steps:
      - id: confirm
        checkpoint: {description: the refund is issued}
        tools: [{tool: issue-refund, args: {order_id: "{{ slots.order_id }}"}}]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from focalctl.bundle import BundleObject
from focalctl.bundle.view import PlacedStep, View, own_steps
from focalctl.checks.graph import ScenarioGraph
from focalctl.diagnostics import Diagnostic
from focalctl.diagnostics.suggest import did_you_mean
from runtime.spec import ToolEffectSpec


def check(view: View, obj: BundleObject) -> Iterator[Diagnostic]:
    if obj.kind == "ToolEffect":
        yield from _tool(view, obj)
    for placed in own_steps(obj):
        for i, binding in enumerate(placed.step.tools):
            spec = _tool_spec(view, placed.owner.tenant, binding.tool)
            if spec is not None:
                yield from _args(placed, i, binding.tool, binding.args, spec)
    if obj.kind == "Scenario":
        yield from _irreversible_before_checkpoint(view, obj)


def _tool_spec(view: View, tenant: str, name: str) -> ToolEffectSpec | None:
    obj = view.get(tenant, "ToolEffect", name)
    return obj.spec if obj is not None and isinstance(obj.spec, ToolEffectSpec) else None


def _tool(view: View, obj: BundleObject) -> Iterator[Diagnostic]:
    spec = obj.spec
    assert isinstance(spec, ToolEffectSpec)
    if spec.effect == "compensatable" and not spec.compensation:
        yield obj.diag("FOC503", "/spec/effect", tool=obj.name)
    if spec.compensation:
        comp = _tool_spec(view, obj.tenant, spec.compensation)
        if comp is not None and comp.effect == "irreversible":
            yield obj.diag(
                "FOC504", "/spec/compensation", tool=obj.name, compensation=spec.compensation
            )
    if spec.effect == "irreversible":
        if not spec.confirmation.required:
            yield obj.diag("FOC505", "/spec/effect", tool=obj.name)
        elif not (spec.confirmation.prompt or "").strip():
            yield obj.diag("FOC511", "/spec/confirmation/required", tool=obj.name)
        if not spec.idempotency_key:
            yield obj.diag("FOC506", "/spec/effect", tool=obj.name)
    props: dict[str, Any] = spec.parameters.get("properties", {})
    for i, key in enumerate(spec.idempotency_key):
        if key not in props:
            yield obj.diag(
                "FOC507",
                f"/spec/idempotencyKey/{i}",
                field=key,
                tool=obj.name,
                hint=did_you_mean(key, props) or f"parameters: {', '.join(props) or 'none'}",
            )


def _irreversible_before_checkpoint(view: View, scenario: BundleObject) -> Iterator[Diagnostic]:
    graph = ScenarioGraph.build(view, scenario)
    if not graph.complete:
        return
    reach = graph.reachable(graph.entry)
    guarded: set[str] = set().union(*graph.after_checkpoint().values())
    for sid, placed in graph.by_id.items():
        if sid not in reach or sid in guarded:
            continue
        for i, binding in enumerate(placed.step.tools):
            spec = _tool_spec(view, scenario.tenant, binding.tool)
            if spec is not None and spec.effect == "irreversible":
                yield placed.diag("FOC508", ("tools", i, "tool"), step=sid, tool=binding.tool)


def _args(
    placed: PlacedStep, i: int, tool: str, args: dict[str, Any], spec: ToolEffectSpec
) -> Iterator[Diagnostic]:
    props: dict[str, Any] = spec.parameters.get("properties", {})
    extra = spec.parameters.get("additionalProperties", False)
    if extra is False or extra is None:
        for name in args:
            if name not in props:
                yield placed.diag(
                    "FOC509",
                    ("tools", i, "args", name),
                    target="key",
                    tool=tool,
                    message=f"'{name}' is not a parameter of the tool",
                    hint=did_you_mean(name, props) or f"parameters: {', '.join(props) or 'none'}",
                )
    missing = [r for r in spec.parameters.get("required", []) if r not in args]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        yield placed.diag(
            "FOC509",
            ("tools", i, "tool"),
            tool=tool,
            message=f"required parameter{plural} {', '.join(missing)} not given",
            hint=f"add args: {{{', '.join(f'{m}: ...' for m in missing)}}}",
        )
