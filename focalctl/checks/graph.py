"""Invariant 5, the scenario graph: steps are nodes, transitions are edges.

- FOC401: the entry step exists.
- FOC402: every step is reachable from the entry.
- FOC403: every reachable step can reach a terminal step.
- FOC405: a cycle with no exit: a strongly connected component of reachable steps that has no
  transition leaving it and holds no terminal step (non-trivial: two or more steps, or one step
  looping on itself). Reported once per component, at its first step; its members get no
  FOC403. Steps that are merely stuck downstream of such a cycle or of a dead end get FOC403.
- FOC404: no transition back across a checkpoint. Step S is *after* checkpoint C when C lies on
  every path from the entry to S (C dominates S; C dominates itself). A transition S → T crosses
  C backwards when C dominates S, C does not dominate T, and C can be reached from T again
  (T is an ancestor of C: the conversation would redo the point of no return). Forward merges
  into a step shared with other branches (C not reachable from T) are fine, and so are loops
  that stay after C (e.g. back to C itself). Each transition is reported once, naming the
  innermost checkpoint it crosses.
- FOC406: the scenario has a terminal step.

When the entry is unknown or a transition targets an unknown step (FOC401/FOC302), the rest of
the analysis is skipped: reachability would be a guess.

Bad::

    entry: {step: start}
    steps:
      - {id: start, transitions: [{to: pay}]}
      - id: pay
        checkpoint: {description: card charged}
        transitions: [{to: start}]                 # FOC404: back before the checkpoint
      - {id: ping, transitions: [{to: pong}]}      # FOC402 (unreachable)
      - {id: pong, transitions: [{to: ping}]}

Good::

    entry: {step: start}
    steps:
      - {id: start, transitions: [{to: pay}]}
      - id: pay
        checkpoint: {description: card charged}
        transitions: [{to: done}]
      - {id: done, terminal: true}
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from focalctl.bundle import BundleObject
from focalctl.bundle.view import PlacedStep, View
from focalctl.diagnostics import Diagnostic
from focalctl.diagnostics.suggest import did_you_mean
from runtime.spec import ScenarioSpec


@dataclass(slots=True)
class ScenarioGraph:
    """The transition graph of one scenario (first definition of each step id wins)."""

    scenario: BundleObject
    steps: list[PlacedStep]
    entry: str | None  # None when the entry step does not exist
    edges: dict[str, list[str]] = field(default_factory=dict)
    by_id: dict[str, PlacedStep] = field(default_factory=dict)
    # True when some transition targets a step that does not exist (graph facts are guesses).
    broken: bool = False

    @classmethod
    def build(cls, view: View, scenario: BundleObject) -> ScenarioGraph:
        assert isinstance(scenario.spec, ScenarioSpec)
        steps = view.scenario_steps(scenario.tenant, scenario.name)
        by_id: dict[str, PlacedStep] = {}
        for p in steps:
            by_id.setdefault(p.step.id, p)
        edges: dict[str, list[str]] = {}
        for sid, p in by_id.items():
            edges[sid] = list(dict.fromkeys(t.to for t in p.step.transitions if t.to in by_id))
        broken = any(t.to not in by_id for p in steps for t in p.step.transitions)
        entry = scenario.spec.entry.step if scenario.spec.entry.step in by_id else None
        return cls(scenario, steps, entry, edges, by_id, broken)

    @property
    def complete(self) -> bool:
        """The entry and every transition target exist, so graph facts are exact."""
        return self.entry is not None and not self.broken

    def reachable(self, start: str | None, avoid: str | None = None) -> set[str]:
        """Steps reachable from ``start`` (itself included) on paths that never enter ``avoid``."""
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

    def reachable_to(self, target: str) -> set[str]:
        """Steps from which ``target`` is reachable (itself included)."""
        return self._backward({target})

    def after_checkpoint(self) -> dict[str, set[str]]:
        """Reachable checkpoint id → the steps it dominates (itself included)."""
        reach = self.reachable(self.entry)
        out: dict[str, set[str]] = {}
        for sid, p in self.by_id.items():
            if p.step.checkpoint is not None and sid in reach:
                out[sid] = reach - self.reachable(self.entry, avoid=sid)
        return out

    def can_finish(self) -> set[str]:
        """Steps from which some terminal step is reachable."""
        return self._backward({s for s, p in self.by_id.items() if p.step.terminal})

    def _backward(self, seeds: set[str]) -> set[str]:
        """``seeds`` and every step with a path into them."""
        rev: dict[str, list[str]] = {s: [] for s in self.by_id}
        for s, targets in self.edges.items():
            for t in targets:
                rev[t].append(s)
        seen = set(seeds)
        queue = deque(sorted(seeds))
        while queue:
            for prev in rev[queue.popleft()]:
                if prev not in seen:
                    seen.add(prev)
                    queue.append(prev)
        return seen

    def components(self, nodes: set[str]) -> list[list[str]]:
        """Strongly connected components of the subgraph on ``nodes``, members in step order."""
        comp_of: dict[str, int] = {}
        out: list[list[str]] = []
        for sid in self.by_id:
            if sid not in nodes or sid in comp_of:
                continue
            forward = self._within(sid, nodes)
            members = [s for s in self.by_id if s in forward and sid in self._within(s, nodes)]
            for s in members:
                comp_of[s] = len(out)
            out.append(members)
        return out

    def _within(self, start: str, nodes: set[str]) -> set[str]:
        seen = {start}
        queue = deque([start])
        while queue:
            for nxt in self.edges[queue.popleft()]:
                if nxt in nodes and nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        return seen


def check(view: View, obj: BundleObject) -> Iterator[Diagnostic]:
    if obj.kind == "Scenario":
        yield from _check_scenario(view, obj)


def _check_scenario(view: View, scenario: BundleObject) -> Iterator[Diagnostic]:
    assert isinstance(scenario.spec, ScenarioSpec)
    g = ScenarioGraph.build(view, scenario)
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
    yield from _moves(g)
    if g.broken:
        return  # an unknown target (FOC302) would make every reachability finding a guess
    reach = g.reachable(g.entry)
    for sid, p in g.by_id.items():
        if sid not in reach:
            yield p.diag("FOC402", ("id",), step=sid, entry=g.entry)
    if not any(p.step.terminal for p in g.by_id.values()):
        yield scenario.diag("FOC406", "/spec/steps", target="key", scenario=scenario.name)
    else:
        yield from _stuck(g, reach - g.can_finish())
    yield from _checkpoint_crossings(g)


def _moves(g: ScenarioGraph) -> Iterator[Diagnostic]:
    """``moved``: each ``to`` is a step of the scenario, no ``from`` still is one."""
    scenario = g.scenario
    assert isinstance(scenario.spec, ScenarioSpec)
    for i, move in enumerate(scenario.spec.moved):
        if move.from_ in g.by_id:
            yield scenario.diag(
                "FOC311", f"/spec/moved/{i}/from", scenario=scenario.name, step=move.from_
            )
        if move.to not in g.by_id:
            yield scenario.diag(
                "FOC301",
                f"/spec/moved/{i}/to",
                source=f"Scenario '{scenario.name}'",
                kind="step",
                name=move.to,
                hint=did_you_mean(move.to, g.by_id) or f"steps: {', '.join(g.by_id)}",
            )


def _stuck(g: ScenarioGraph, stuck: set[str]) -> Iterator[Diagnostic]:
    """Reachable steps that cannot finish: closed cycles once as FOC405, the others as FOC403.

    Every successor of a stuck step is stuck too, so a component of the stuck subgraph has no
    exit exactly when none of its steps has a transition to a step outside it.
    """
    for members in g.components(stuck):
        inside = set(members)
        cyclic = len(members) > 1 or members[0] in g.edges[members[0]]
        closed = all(t in inside for s in members for t in g.edges[s])
        if cyclic and closed:
            steps = ", ".join(f"'{s}'" for s in members)
            yield g.by_id[members[0]].diag("FOC405", ("id",), steps=steps)
        else:
            for sid in members:
                yield g.by_id[sid].diag("FOC403", ("id",), step=sid)


def _checkpoint_crossings(g: ScenarioGraph) -> Iterator[Diagnostic]:
    regions = g.after_checkpoint()
    returns_to = {cp: g.reachable_to(cp) for cp in regions} if regions else {}
    for sid, placed in g.by_id.items():
        for i, t in enumerate(placed.step.transitions):
            crossed = [
                cp
                for cp, after in regions.items()
                if sid in after and t.to not in after and t.to in returns_to[cp]
            ]
            if crossed:
                cp = min(crossed, key=lambda c: (len(regions[c]), c))  # the innermost
                yield placed.diag(
                    "FOC404", ("transitions", i, "to"), source=sid, to=t.to, checkpoint=cp
                )
