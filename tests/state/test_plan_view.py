"""What plan and apply print: a changed transition as one line keyed by its target, creates
with their attributes (names only with --compact), and JSON with the same paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from focalctl.cli.main import app
from tests.conftest import focalctl_in_process

ENV = {"NO_COLOR": "1", "COLUMNS": "200"}


def _prioritise(workspace: Path) -> None:
    scenario = workspace / "agents.d" / "scenario.yaml"
    text = scenario.read_text()
    assert '- to: report\n          when: "slots.order_id"' in text
    scenario.write_text(
        text.replace(
            '- to: report\n          when: "slots.order_id"',
            '- to: report\n          when: "slots.order_id"\n          priority: 5',
        )
    )


def test_plan_and_apply_through_the_runner(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workspace)
    runner = CliRunner()
    store = ["--store", f"sqlite:///{workspace}/s.db"]
    compact = runner.invoke(app, ["plan", "agents.d", "--compact", *store], env=ENV)
    assert compact.exit_code == 0, compact.output
    assert "+ Step/order-status/ask_order\n" in compact.output and "collects" not in compact.output
    applied = runner.invoke(app, ["apply", "agents.d", "--auto-approve", *store], env=ENV)
    assert applied.exit_code == 0, applied.output
    assert "+ Step/order-status/ask_order\n        collects:\n" in applied.output
    assert (
        '        transitions:\n          - priority: 0\n            to: "report"\n'
        '            when: "slots.order_id"\n'
    ) in applied.output
    _prioritise(workspace)
    plan = runner.invoke(app, ["plan", "agents.d", *store], env=ENV)
    assert plan.exit_code == 0, plan.output
    assert "~ Step/order-status/ask_order\n        ~ transitions[to=report].priority: 0 → 5\n" in (
        plan.output
    )
    assert "[{" not in plan.output and "…" not in plan.output.split("\n", 1)[1]
    doc = json.loads(runner.invoke(app, ["plan", "agents.d", "--json", *store]).output)
    (change,) = doc["changes"]
    assert change["fields"] == [
        {"path": "transitions[to=report].priority", "action": "update", "old": 0, "new": 5}
    ]


def test_plan_prints_transition_changes_keyed_by_target(workspace: Path) -> None:
    assert focalctl_in_process("apply", "agents.d", "--auto-approve", cwd=workspace).returncode == 0
    _prioritise(workspace)
    proc = focalctl_in_process("plan", "agents.d", "--detailed-exitcode", cwd=workspace, env=ENV)
    assert proc.returncode == 2, proc.stderr
    assert "~ transitions[to=report].priority: 0 → 5" in proc.stdout
    assert "Plan: 0 to add, 1 to change, 0 to delete." in proc.stdout
