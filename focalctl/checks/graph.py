"""Invariant 5, the scenario graph: entry exists, every step reachable and able to finish,
no transition back across a checkpoint, no cycle without an exit.

A step is *after* checkpoint C when every path from the entry to it passes through C (C
dominates it). A transition S → T crosses C backwards when S is after C (or is C), T is not,
and C can be reached again from T: the conversation would return to before the point of no
return. Forward merges into a step shared with other branches are fine.

Bad::

    - id: refund_done            # after the checkpoint 'confirm_refund'
      transitions: [{to: collect_order}]     # FOC404: back before the checkpoint

Good::

    - id: refund_done
      terminal: true
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from focalctl.bundle import Bundle, BundleObject
from focalctl.checks.steps import PlacedStep, scenario_steps
from focalctl.diagnostics import Diagnostic
from focalctl.diagnostics.suggest import did_you_mean
from runtime.spec import ScenarioSpec


@dataclass(slots=True)
class ScenarioGraph:
    scenario: BundleObject
    steps: list[PlacedStep]
    entry: str | None
    edges: dict[str, list[str]] = field(default_factory=dict)
    by_id: dict[str, PlacedStep] = field(default_factory=dict)

    @classmethod
    def build(cls, bundle: Bundle, scenario: BundleObject) -> ScenarioGraph:
        assert isinstance(scenario.spec, ScenarioSpec)
        steps = scenario_steps(bundle, scenario.tenant, scenario.name)
        by_id: dict[str, PlacedStep] = {}
        for p in steps:
            by_id.setdefault(p.step.id, p)
        edges = {
            sid: [t.to for t in p.step.transitions if t.to in by_id] for sid, p in by_id.items()
        }
        entry = scenario.spec.entry.step if scenario.spec.entry.step in by_id else None
        return cls(scenario, steps, entry, edges, by_id)

    def reachable(self, start: str | None, avoid: str | None = None) -> set[str]:
        if start is None or start == avoid:
            return set()
        seen = {start}
        queue = deque([start])
        while queue:
            for nxt in self.edges[queue.popleft()]:
                if nxt not in seen and nxt != avoid:
                    seen.add(nxt)
                    queue.append(nxt)
        return seen

    def after_checkpoint(self) -> dict[str, set[str]]:
        """checkpoint id → the steps it dominates (itself included)."""
        reach = self.reachable(self.entry)
        out: dict[str, set[str]] = {}
        for sid, p in self.by_id.items():
            if p.step.checkpoint is not None and sid in reach:
                out[sid] = reach - self.reachable(self.entry, avoid=sid)
        return out

    def can_finish(self) -> set[str]:
        rev: dict[str, list[str]] = {s: [] for s in self.by_id}
        for s, targets in self.edges.items():
            for t in targets:
                rev[t].append(s)
        done = {s for s, p in self.by_id.items() if p.step.terminal}
        queue = deque(done)
        while queue:
            for prev in rev[queue.popleft()]:
                if prev not in done:
                    done.add(prev)
                    queue.append(prev)
        return done


def check(bundle: Bundle) -> Iterator[Diagnostic]:
    for scenario in bundle.of_kind("Scenario"):
        yield from _check_scenario(bundle, scenario)


def _check_scenario(bundle: Bundle, scenario: BundleObject) -> Iterator[Diagnostic]:
    assert isinstance(scenario.spec, ScenarioSpec)
    g = ScenarioGraph.build(bundle, scenario)
    if not g.by_id:
        yield scenario.diag("FOC406", "/spec/steps", target="key", scenario=scenario.name)
        return
    if g.entry is None:
        name = scenario.spec.entry.step
        yield scenario.diag(
            "FOC401",
            "/spec/entry/step",
            name=name,
            scenario=scenario.name,
            hint=did_you_mean(name, g.by_id) or f"steps: {', '.join(g.by_id)}",
        )
        return
    if any(t.to not in g.by_id for p in g.steps for t in p.step.transitions):
        return  # an unknown target (FOC302) would make every reachability finding a guess
    reach = g.reachable(g.entry)
    for sid, p in g.by_id.items():
        if sid not in reach:
            yield p.diag("FOC402", ("id",), step=sid, entry=g.entry)
    if not any(p.step.terminal for p in g.by_id.values()):
        yield scenario.diag("FOC406", "/spec/steps", target="key", scenario=scenario.name)
    else:
        finish = g.can_finish()
        stuck = [s for s in g.by_id if s in reach and s not in finish]
        yield from _stuck(g, stuck)
    for cp, dominated in sorted(g.after_checkpoint().items()):
        for sid in g.by_id:
            if sid not in dominated:
                continue
            for i, t in enumerate(g.by_id[sid].step.transitions):
                # Back across: to a step outside the checkpoint's region from which the flow
                # would reach the checkpoint again (forward merges into shared steps are fine).
                if t.to in g.by_id and t.to not in dominated and cp in g.reachable(t.to):
                    yield g.by_id[sid].diag(
                        "FOC404", ("transitions", i, "to"), source=sid, to=t.to, checkpoint=cp
                    )


def _stuck(g: ScenarioGraph, stuck: list[str]) -> Iterator[Diagnostic]:
    """Steps that cannot finish: closed cycles once as FOC405, the rest as FOC403."""
    stuck_set = set(stuck)
    reported: set[str] = set()
    for sid in stuck:
        if sid in reported:
            continue
        # The steps reachable from sid are all stuck too; a closed cycle is a set that reaches back.
        component = {s for s in g.reachable(sid) if sid in g.reachable(s)}
        if len(component) > 1 or sid in g.edges[sid]:
            if component <= stuck_set:
                ordered = [s for s in g.by_id if s in component]
                reported.update(component)
                yield g.by_id[ordered[0]].diag("FOC405", ("id",), steps=", ".join(ordered))
                continue
        reported.add(sid)
        yield g.by_id[sid].diag("FOC403", ("id",), step=sid)
