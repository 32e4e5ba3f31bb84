"""Invariant 6: dependsOn names bindings of the same step and has no cycle."""

from __future__ import annotations

from pathlib import Path

from focalctl.checks.bindings import find_cycle

from .bundles import AGENT, TOOL, diagnostics, found, scenario, write

TOOLS = TOOL + "".join(
    "---\n" + TOOL.replace("name: lookup", f"name: {n}") for n in ("notify", "audit")
)
AGENT3 = AGENT.replace("[lookup]", "[lookup, notify, audit]")


def run(tmp_path: Path, bindings: str) -> set[tuple[str, str, str]]:
    steps = f"    - id: start\n      terminal: true\n      tools:\n{bindings}"
    return found(write(tmp_path, tool=TOOLS, agent=AGENT3, scenario=scenario(steps)))


def test_acyclic_dependencies_are_fine(tmp_path: Path) -> None:
    bindings = (
        "        - {tool: lookup}\n"
        "        - {tool: notify, dependsOn: [lookup]}\n"
        "        - {tool: audit, dependsOn: [lookup, notify]}\n"
    )
    assert run(tmp_path, bindings) == set()


def test_depends_on_a_tool_not_bound_in_the_step(tmp_path: Path) -> None:
    bindings = "        - {tool: lookup}\n        - {tool: notify, dependsOn: [lookpu, audit]}\n"
    assert run(tmp_path, bindings) == {
        ("FOC501", "scenario.yaml", "/spec/steps/0/tools/1/dependsOn/0"),
        ("FOC501", "scenario.yaml", "/spec/steps/0/tools/1/dependsOn/1"),
    }
    hints = sorted(d.hint or "" for d in diagnostics(tmp_path))
    assert hints == ["bindings of this step: lookup, notify", "did you mean 'lookup'?"]


def test_cycle_reported_once_per_step_at_its_first_binding(tmp_path: Path) -> None:
    bindings = (
        "        - {tool: lookup}\n"
        "        - {tool: notify, dependsOn: [audit]}\n"
        "        - {tool: audit, dependsOn: [notify]}\n"
    )
    assert run(tmp_path, bindings) == {
        ("FOC502", "scenario.yaml", "/spec/steps/0/tools/1/dependsOn")
    }
    (diag,) = diagnostics(tmp_path)
    assert "notify → audit → notify" in diag.message


def test_self_dependency_is_a_cycle(tmp_path: Path) -> None:
    assert run(tmp_path, "        - {tool: lookup, dependsOn: [lookup]}\n") == {
        ("FOC502", "scenario.yaml", "/spec/steps/0/tools/0/dependsOn")
    }


def test_find_cycle_is_deterministic() -> None:
    deps = {"a": ["b"], "b": ["c"], "c": ["b"], "d": []}
    assert find_cycle(deps) == ["b", "c"]
    assert find_cycle({"a": ["b"], "b": []}) is None


def test_phase_is_at_and_when_is_a_condition(tmp_path: Path) -> None:
    bindings = (
        "        - {tool: lookup, at: before, saveAs: amount}\n"
        "        - {tool: notify, at: after, when: \"slots.amount > 100 and intent == 'refund'\"}\n"
        '        - {tool: audit, when: "amount > 100"}\n'
    )
    assert run(tmp_path, bindings) == {("FOC704", "scenario.yaml", "/spec/steps/0/tools/2/when")}


def test_the_old_phase_key_says_what_to_write_instead(tmp_path: Path) -> None:
    bindings = "        - {tool: lookup, when: after}\n        - {tool: notify, when: during}\n"
    assert run(tmp_path, bindings) == {
        ("FOC211", "scenario.yaml", "/spec/steps/0/tools/0/when"),
        ("FOC211", "scenario.yaml", "/spec/steps/0/tools/1/when"),
    }
    hints = sorted(d.hint or "" for d in diagnostics(tmp_path))
    assert hints[0].startswith("write 'at: after' instead of 'when: after'")
    assert hints[1].startswith("write 'at: during' instead of 'when: during'")
