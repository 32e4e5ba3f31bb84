"""Invariant 3: one object per (tenant, kind, name), step ids per scenario, tools per step."""

from __future__ import annotations

from pathlib import Path

from .bundles import TOOL, diagnostics, doc, found, scenario, write

S = "scenario.yaml"


def test_duplicate_object_points_at_the_second_and_names_the_first(tmp_path: Path) -> None:
    root = write(tmp_path, x_tool=TOOL)  # loaded after tool.yaml (paths are sorted)
    assert found(root) == {("FOC801", "x_tool.yaml", "/metadata/name")}
    (diag,) = diagnostics(root)
    assert "tool.yaml:1" in diag.message


def test_same_name_in_another_tenant_or_kind_is_not_a_duplicate(tmp_path: Path) -> None:
    other = (
        doc("Tenant", "t2", "  channels: [sms]\n", tenant=None)
        + "---\n"
        + TOOL.replace("tenant: t1", "tenant: t2")
        + "---\n"
        + doc(
            "Goal",
            "lookup",
            "  agent: bot\n  trigger: {scenario: flow, reachedStep: end}\n"
            "  action: reminder\n  message: hi\n",
        )
    )
    assert found(write(tmp_path, other=other)) == set()


def test_duplicate_step_id_inline(tmp_path: Path) -> None:
    steps = (
        "    - {id: start, transitions: [{to: end}]}\n"
        "    - {id: end, terminal: true}\n"
        "    - {id: end, terminal: true}\n"
    )
    assert found(write(tmp_path, scenario=scenario(steps))) == {("FOC802", S, "/spec/steps/2/id")}


def test_duplicate_step_id_between_inline_and_standalone_step(tmp_path: Path) -> None:
    step = doc("Step", "end-again", "  scenario: flow\n  id: end\n  terminal: true\n")
    assert found(write(tmp_path, step=step)) == {("FOC802", "step.yaml", "/spec/id")}


def test_same_step_id_in_two_scenarios_is_fine(tmp_path: Path) -> None:
    other = scenario("    - {id: start, terminal: true}\n", name="other")
    assert found(write(tmp_path, other=other)) == set()


def test_tool_bound_twice_in_one_step(tmp_path: Path) -> None:
    steps = (
        "    - {id: start, tools: [{tool: lookup}, {tool: lookup}], transitions: [{to: end}]}\n"
        "    - {id: end, terminal: true, tools: [{tool: lookup}]}\n"
    )
    assert found(write(tmp_path, scenario=scenario(steps))) == {
        ("FOC803", S, "/spec/steps/0/tools/1/tool")
    }


def test_tool_bound_twice_in_a_standalone_step_of_a_missing_scenario(tmp_path: Path) -> None:
    step = doc(
        "Step", "lost", "  scenario: nowhere\n  id: x\n  tools: [{tool: lookup}, {tool: lookup}]\n"
    )
    assert found(write(tmp_path, step=step)) == {
        ("FOC301", "step.yaml", "/spec/scenario"),
        ("FOC803", "step.yaml", "/spec/tools/1/tool"),
    }
