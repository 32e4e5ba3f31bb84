"""``focalctl suggest --edge-cases``: Simulation documents for the risky paths, derived from
the simulations a bundle already has.

A bundle's own simulations know how to reach its steps (which intents and slots get a customer
there); that is the hard part of writing an edge case by hand. Each existing simulation is run
once, through the real runtime, and every event that reaches something risky yields a variant
that stops there and tries the edge:

- ``duplicate-at-<step>``: the message that reached a checkpoint is delivered again; it must be
  answered as a duplicate and run nothing;
- ``decline-<tool>``: the customer says no where a confirmation was asked; the tool must not run;
- ``burst-<tool>``: the confirming message arrives as a burst of three; one turn, one call;
- ``follow-up-<goal>-unanswered``: after a goal was scheduled, the customer never comes back;
  the follow-up goes out once;
- ``fallback-<goal>-<profile>``: the profile the follow-up went out on fails; the next one of
  the ladder takes it.

Expectations state the safe behaviour, not the current one, so a generated simulation fails on
a bundle that breaks it. Each file is a skeleton to review and keep.
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from focalctl.bundle.models import BundleObject
from focalctl.simulate.runner import EventRecord, SimulationResult

__all__ = ["Suggestion", "edge_cases", "write"]


@dataclass(frozen=True, slots=True)
class Suggestion:
    tenant: str
    name: str
    source: str  # the simulation it was derived from
    reason: str
    document: dict[str, Any]


def edge_cases(
    simulations: Sequence[BundleObject],
    results: Sequence[SimulationResult],
    snapshots: dict[str, dict[str, Any]],
) -> list[Suggestion]:
    """``snapshots``: each tenant's snapshot body (to know checkpoints, effects, ladders)."""
    out: dict[tuple[str, str], Suggestion] = {}
    for obj, result in zip(simulations, results, strict=True):
        body = snapshots[obj.tenant]
        script = list(obj.doc.data["spec"]["script"])
        for record in result.events:
            for suggestion in _variants(obj, script, record, body):
                out.setdefault((suggestion.tenant, suggestion.name), suggestion)
    return sorted(out.values(), key=lambda s: (s.tenant, s.name))


def _variants(
    obj: BundleObject, script: list[dict[str, Any]], record: EventRecord, body: dict[str, Any]
) -> list[Suggestion]:
    i = record.index
    upto = [copy.deepcopy(e) for e in script[: i + 1]]
    for event in upto:
        event.pop("expect", None)  # the base path is the means, not what is tested
    found = []
    steps = _steps(body, record.scenario)
    for step in record.entered:
        if steps.get(step, {}).get("checkpoint") and not script[i].get("redeliver"):
            risky = [t for t in record.executed if _effect(body, t) != "pure"]
            expect: dict[str, Any] = {"status": "duplicate", "no_reply": True}
            if risky:
                expect["tool_not_called"] = risky[0]
            found.append(
                _make(
                    obj,
                    f"duplicate-at-{step}",
                    "the message that reached a checkpoint, delivered again",
                    [*upto, {"redeliver": "previous", "after": "5s", "expect": expect}],
                )
            )
    for tool in record.asked:
        asked = copy.deepcopy(upto)  # where it was asked: asked, and not run
        asked[-1]["expect"] = {"confirmation_asked": True, "tool_not_called": tool}
        found.append(
            _make(
                obj,
                f"decline-{tool}",
                f"the customer declines {tool}",
                [
                    *asked,
                    {"user": "no, don't", "intent": "deny", "expect": {"tool_not_called": tool}},
                ],
            )
        )
        confirm = script[i + 1] if i + 1 < len(script) else None
        if confirm is not None and confirm.get("user") is not None:
            burst = {k: v for k, v in copy.deepcopy(confirm).items() if k not in ("user", "expect")}
            burst["burst"] = [confirm["user"], f"{confirm['user']}!!", "please go ahead"]
            # the tool runs (once: the registry's key); on a channel that folds bursts, in one turn
            burst["expect"] = {"tool_called": {"tool": tool}}
            spec = obj.doc.data["spec"]
            asked_at = record.entered[-1] if record.entered else None
            if _debounced(body, spec["agent"], record.scenario, asked_at, spec["channel"]):
                burst["expect"]["turns"] = 1
            found.append(
                _make(
                    obj,
                    f"burst-{tool}",
                    f"the answer to {tool}'s confirmation as a burst",
                    [*upto, burst],
                )
            )
    for goal in record.scheduled:
        spec = body.get("goals", {}).get(goal, {}).get("spec", {})
        wait = _hours(spec.get("after", "24h")) + _hours(spec.get("expiresAfter", "7d")) + 1
        unanswered = _make(
            obj,
            f"follow-up-{goal}-unanswered",
            f"{goal} scheduled, never answered",
            [
                *upto,
                {"wait": f"{wait}h", "expect": {"scheduled": {"goal": goal, "state": "fired"}}},
            ],
        )
        _consent(unanswered)
        found.append(unanswered)
        from runtime.agenda.ladder import expand

        agent = body.get("agents", {}).get(str(spec.get("agent")), {}).get("spec", {})
        ladder = expand(spec.get("channels") or agent.get("channels") or [], body)
        if len(ladder) >= 2:
            variant = _make(
                obj,
                f"fallback-{goal}-{ladder[0]}",
                f"{ladder[0]} fails for {goal}",
                [*upto, {"wait": f"{wait}h", "expect": {"delivered": {"channel": ladder[1]}}}],
            )
            variant.document["spec"]["deliveries"] = [{"channel": ladder[0], "fail": True}]
            _consent(variant)
            found.append(variant)
    return found


def _make(obj: BundleObject, what: str, reason: str, script: list[dict[str, Any]]) -> Suggestion:
    doc = copy.deepcopy(obj.doc.data)
    name = f"edge-{what}".replace("_", "-")[:63].rstrip("-")  # step ids may hold _
    doc["metadata"] = {"name": name, "tenant": obj.tenant}
    doc["spec"]["script"] = script
    doc["spec"].pop("deliveries", None)
    return Suggestion(obj.tenant, name, obj.name, reason, doc)


def _consent(suggestion: Suggestion) -> None:
    """A follow-up needs the customer's consent to go out at all: these variants test what
    happens after that, so the customer gave it."""
    profile = suggestion.document["spec"].setdefault("profile", {})
    profile["consent"] = True


def _debounced(
    body: dict[str, Any], agent: str, scenario: str | None, step: str | None, profile: str
) -> bool:
    """Whether a message at (agent, scenario, step) on ``profile`` is folded into a burst:
    the effective ``turn.debounce`` there, resolved as the runtime resolves it (defaults,
    channel type, tenant, agent, profile, scenario, step)."""
    import json

    from runtime.durations import parse_duration
    from runtime.settings import resolve
    from runtime.snapshot import load

    index = load(json.dumps(body).encode()).index
    try:
        effective = resolve(index.layers(agent, scenario, step, profile))
    except KeyError:  # a name the snapshot lacks: the simulation itself reports it
        return False
    return parse_duration(effective.turn.debounce) > 0


def _steps(body: dict[str, Any], scenario: str | None) -> dict[str, dict[str, Any]]:
    spec = body.get("scenarios", {}).get(scenario or "", {}).get("spec", {})
    return {s["id"]: s for s in spec.get("steps", [])}


def _effect(body: dict[str, Any], tool: str) -> str:
    return str(body.get("tools", {}).get(tool, {}).get("spec", {}).get("effect", "pure"))


def _hours(duration: str) -> int:
    from runtime.durations import parse_duration

    return -(-parse_duration(duration) // 3_600_000)  # rounded up


_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 _.,!?'-]*")
_WORDS = {"yes", "no", "y", "n", "true", "false", "on", "off", "null"}


def _str(representer: Any, data: str) -> Any:
    """Plain only where every YAML reader agrees it is a string (``10:30``, ``yes``: quoted)."""
    plain = _PLAIN.fullmatch(data) is not None and data.lower() not in _WORDS
    return representer.represent_scalar("tag:yaml.org,2002:str", data, None if plain else '"')


def write(suggestions: Sequence[Suggestion], out: Path) -> list[Path]:
    """One file per suggestion, with the schema modeline and where it came from."""
    from ruamel.yaml import YAML
    from ruamel.yaml.representer import RoundTripRepresenter

    class Representer(RoundTripRepresenter):
        """Strings as :func:`_str` writes them, for this writer only: ``add_representer`` on
        the shared round-trip representer would quote every string ``fmt`` writes later in
        the same process."""

    Representer.add_representer(str, _str)
    yaml = YAML()
    yaml.Representer = Representer
    yaml.default_flow_style = None
    yaml.width = 100
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for s in suggestions:
        buffer = io.StringIO()
        yaml.dump(s.document, buffer)
        path = out / f"{s.tenant}-{s.name}.yaml"
        path.write_text(
            f"# Suggested by `focalctl suggest --edge-cases` from simulation '{s.source}':\n"
            f"# {s.reason}. Review the expectations, then keep it with the bundle.\n"
            + buffer.getvalue()
        )
        written.append(path)
    return written
