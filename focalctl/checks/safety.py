"""Invariants 6 and 7: tool bindings and side-effect safety.

- ``dependsOn`` names bindings of the same step and is acyclic (FOC501, FOC502).
- compensatable tools name a compensation that is not itself irreversible (FOC503, FOC504).
- irreversible tools require confirmation and an idempotency key made of real parameters
  (FOC505, FOC506, FOC507), and are only bound in a checkpoint step or after one (FOC508).
- binding args name parameters of the tool and supply the required ones (FOC509).

Bad::

    kind: ToolEffect
    spec: {effect: irreversible}            # FOC505 + FOC506

Good::

    spec:
      effect: irreversible
      confirmation: {required: true, prompt: "Refund {{ args.amount }}?"}
      idempotencyKey: [order_id]
      parameters: {type: object, properties: {order_id: {type: string}}}
"""

from __future__ import annotations

from collections.abc import Iterator

from focalctl.bundle import Bundle
from focalctl.checks.graph import ScenarioGraph
from focalctl.checks.steps import PlacedStep
from focalctl.diagnostics import Diagnostic
from focalctl.diagnostics.suggest import did_you_mean
from runtime.spec import ToolEffectSpec


def check(bundle: Bundle) -> Iterator[Diagnostic]:
    yield from _tools(bundle)
    for scenario in bundle.of_kind("Scenario"):
        graph = ScenarioGraph.build(bundle, scenario)
        dominated: set[str] = (
            set().union(*graph.after_checkpoint().values()) if graph.entry else set()
        )
        for placed in graph.steps:
            yield from _depends_on(placed)
            for i, binding in enumerate(placed.step.tools):
                tool = bundle.get(scenario.tenant, "ToolEffect", binding.tool)
                if tool is None or not isinstance(tool.spec, ToolEffectSpec):
                    continue
                yield from _args(placed, i, binding.tool, binding.args, tool.spec)
                if (
                    tool.spec.effect == "irreversible"
                    and graph.entry
                    and placed.step.id not in dominated
                ):
                    if graph.by_id.get(placed.step.id) is placed:
                        yield placed.diag(
                            "FOC508", ("tools", i, "tool"), step=placed.step.id, tool=binding.tool
                        )


def _tools(bundle: Bundle) -> Iterator[Diagnostic]:
    for obj in bundle.of_kind("ToolEffect"):
        spec = obj.spec
        assert isinstance(spec, ToolEffectSpec)
        if spec.effect == "compensatable" and not spec.compensation:
            yield obj.diag("FOC503", "/spec/effect", tool=obj.name)
        if spec.compensation:
            comp = bundle.get(obj.tenant, "ToolEffect", spec.compensation)
            if (
                comp is not None
                and isinstance(comp.spec, ToolEffectSpec)
                and comp.spec.effect == "irreversible"
            ):
                yield obj.diag(
                    "FOC504", "/spec/compensation", tool=obj.name, compensation=spec.compensation
                )
        if spec.effect == "irreversible":
            if not spec.confirmation.required:
                yield obj.diag("FOC505", "/spec/effect", tool=obj.name)
            if not spec.idempotency_key:
                yield obj.diag("FOC506", "/spec/effect", tool=obj.name)
        props = spec.parameters.get("properties", {})
        for i, key in enumerate(spec.idempotency_key):
            if key not in props:
                yield obj.diag(
                    "FOC507",
                    f"/spec/idempotencyKey/{i}",
                    field=key,
                    tool=obj.name,
                    hint=did_you_mean(key, props) or f"parameters: {', '.join(props) or 'none'}",
                )


def _depends_on(placed: PlacedStep) -> Iterator[Diagnostic]:
    bound = [b.tool for b in placed.step.tools]
    deps: dict[str, list[str]] = {}
    for i, b in enumerate(placed.step.tools):
        for j, name in enumerate(b.depends_on):
            if name not in bound:
                yield placed.diag(
                    "FOC501",
                    ("tools", i, "dependsOn", j),
                    tool=b.tool,
                    name=name,
                    step=placed.step.id,
                    hint=did_you_mean(name, bound) or f"bindings of this step: {', '.join(bound)}",
                )
        deps.setdefault(b.tool, []).extend(d for d in b.depends_on if d in bound)
    cycle = _find_cycle(deps)
    if cycle:
        first = bound.index(cycle[0])
        yield placed.diag(
            "FOC502",
            ("tools", first, "dependsOn"),
            step=placed.step.id,
            cycle=" → ".join([*cycle, cycle[0]]),
        )


def _find_cycle(deps: dict[str, list[str]]) -> list[str] | None:
    """One cycle in ``deps`` (deterministic), or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in deps.get(node, []):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in deps:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def _args(
    placed: PlacedStep, i: int, tool: str, args: dict[str, object], spec: ToolEffectSpec
) -> Iterator[Diagnostic]:
    props: dict[str, object] = spec.parameters.get("properties", {})
    if props or spec.parameters.get("additionalProperties") is False:
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
        yield placed.diag(
            "FOC509",
            ("tools", i, "tool"),
            tool=tool,
            message=f"required parameter{'s' if len(missing) > 1 else ''} {', '.join(missing)} not given",
            hint=f"add args: {{{', '.join(f'{m}: ...' for m in missing)}}}",
        )
