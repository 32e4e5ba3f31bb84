"""Invariant 6, tool bindings: ``dependsOn`` names bindings of the same step and is acyclic;
a binding's phase is ``at`` (``when: before`` from before the rename is FOC211).

Within one step, a binding may wait for other bindings of that step (``dependsOn``); the runtime
orders the calls by these edges, so every name must be bound in the step (FOC501) and the edges
must not form a cycle (FOC502, reported once per step, at the first binding of the cycle).

Bad::

    tools:
      - {tool: lookup-order, dependsOn: [issue-refund]}
      - {tool: issue-refund, dependsOn: [lookup-order]}     # FOC502: a cycle
      - {tool: notify, dependsOn: [lookup-ordr]}            # FOC501: not bound here

Good::

    tools:
      - {tool: lookup-order}
      - {tool: issue-refund, dependsOn: [lookup-order]}
      - {tool: notify, dependsOn: [issue-refund]}
"""

from __future__ import annotations

from collections.abc import Iterator

from focalctl.bundle import BundleObject
from focalctl.bundle.view import PlacedStep, View, own_steps
from focalctl.diagnostics import Diagnostic
from focalctl.diagnostics.suggest import did_you_mean
from runtime.spec import PHASES


def check(view: View, obj: BundleObject) -> Iterator[Diagnostic]:
    for placed in own_steps(obj):
        yield from _old_phase_key(placed)
        yield from _depends_on(placed)


def _old_phase_key(placed: PlacedStep) -> Iterator[Diagnostic]:
    """``when: before`` was the phase key; the phase is ``at`` and ``when`` is a condition."""
    for i, b in enumerate(placed.step.tools):
        if b.when is not None and b.when.strip() in PHASES:
            phase = b.when.strip()
            yield placed.diag(
                "FOC211",
                ("tools", i, "when"),
                tool=b.tool,
                phase=phase,
                hint=f"write 'at: {phase}' instead of 'when: {phase}'; 'when' now takes a "
                'condition, e.g. when: "slots.amount > 100"',
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
    cycle = find_cycle(deps)
    if cycle:
        first = bound.index(cycle[0])
        yield placed.diag(
            "FOC502",
            ("tools", first, "dependsOn"),
            step=placed.step.id,
            cycle=" → ".join([*cycle, cycle[0]]),
        )


def find_cycle(deps: dict[str, list[str]]) -> list[str] | None:
    """One cycle of the graph ``deps`` (node → successors), found deterministically, or None.

    Nodes are visited in the order of ``deps`` (insertion order), so the same input always
    yields the same cycle, starting at the first node of the cycle the search meets.
    """
    state: dict[str, int] = {}  # 1: on the current path, 2: done
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
