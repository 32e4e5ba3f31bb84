"""plan --state: live conversations on the steps a plan removes or renames, read from the
runtime's state, and a rename declared in the scenario's moved shown as a move."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from runtime.ports import Conversation, open_state
from tests.conftest import focalctl_in_process

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _conversations(url: str, where: dict[str, int]) -> None:
    state = open_state(url)
    try:
        n = 0
        for step, count in where.items():
            for _ in range(count):
                n += 1
                conv = Conversation("demo", f"c{n}", "concierge", "web", "order-status", step)
                assert state.save(conv, T0) is not None
    finally:
        state.close()


def test_plan_counts_live_conversations_on_a_step_it_renames_and_shows_a_declared_move(
    workspace: Path,
) -> None:
    store = f"sqlite:///{workspace}/store.db"
    state = f"sqlite:///{workspace}/runtime.db"
    assert (
        focalctl_in_process(
            "apply", "agents.d", "--auto-approve", "--store", store, cwd=workspace
        ).returncode
        == 0
    )
    _conversations(state, {"report": 3, "ask_order": 2})
    scenario = workspace / "agents.d" / "scenario.yaml"
    scenario.write_text(scenario.read_text().replace("report", "look_up"))

    plan = focalctl_in_process(
        "plan", "agents.d", "--store", store, "--state", state, cwd=workspace
    )
    assert plan.returncode == 0, plan.stderr
    assert (
        "3 conversation(s) are at step 'report' of scenario 'order-status', which this plan "
        "removes: they restart the scenario"
    ) in " ".join(plan.stdout.split())

    scenario.write_text(
        scenario.read_text().replace(
            "  steps:\n", "  moved: [{from: report, to: look_up}]\n  steps:\n", 1
        )
    )
    plan = focalctl_in_process(
        "plan", "agents.d", "--store", store, "--state", state, "--json", cwd=workspace
    )
    assert plan.returncode == 0, plan.stderr
    doc = json.loads(plan.stdout)
    assert doc["moves"] == [
        {"scenario": "order-status", "from": "report", "to": "look_up", "live": 3}
    ]
    assert not any("report" in r for r in doc["risks"])


def test_plan_state_errors_are_clear(workspace: Path) -> None:
    store = f"sqlite:///{workspace}/store.db"
    bad = focalctl_in_process(
        "plan", "agents.d", "--store", store, "--state", "mysql://x", cwd=workspace
    )
    assert bad.returncode == 2 and "unknown state backend" in bad.stderr
    down = focalctl_in_process(
        "plan", "agents.d", "--store", store, "--state", "redis://127.0.0.1:1/0", cwd=workspace
    )
    assert down.returncode == 1 and "cannot read live conversations" in down.stderr
    assert "Traceback" not in down.stderr
