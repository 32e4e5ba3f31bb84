"""plan --simulate: the bundle's simulations on the active release and on the candidate; a
reviewer sees which conversations change, with a diff of their transcripts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import REPO, focalctl_in_process


def test_plan_simulate_shows_the_behaviour_a_change_ships(tmp_path: Path) -> None:
    shutil.copytree(REPO / "examples" / "retail", tmp_path / "retail")
    store = f"sqlite:///{tmp_path}/store.db"
    applied = focalctl_in_process(
        "apply", "retail", "--auto-approve", "--store", store, cwd=tmp_path
    )
    assert applied.returncode == 0, applied.stderr
    same = focalctl_in_process(
        "plan", "retail", "--store", store, "--simulate", "--json", cwd=tmp_path
    )
    assert same.returncode == 0, same.stderr
    sims = json.loads(same.stdout)["simulations"]
    assert len(sims) == 19 and not any(s["changed"] for s in sims)

    # a wording change, and store credit offered from 30 EUR instead of 100
    refunds = tmp_path / "retail" / "scenarios" / "refunds.yaml"
    text = refunds.read_text().replace("3-5 business days", "2-3 business days")
    refunds.write_text(text.replace("slots.order.total > 100", "slots.order.total > 30"))
    plan = focalctl_in_process(
        "plan", "retail", "--store", store, "--simulate", "--json", cwd=tmp_path
    )
    assert plan.returncode == 0, plan.stderr
    by_name = {s["name"]: s for s in json.loads(plan.stdout)["simulations"]}
    happy = by_name["refund-happy-path"]
    assert happy["changed"] and happy["before"]["passed"] and not happy["after"]["passed"]
    assert any(line.startswith("+") and "store credit" in line for line in happy["diff"])
    unclear = by_name["refund-asked-twice-runs-once"]
    assert unclear["changed"]
    assert not by_name["order-status-happy-path"]["changed"]

    text = focalctl_in_process("plan", "retail", "--store", store, "--simulate", cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    out = " ".join(text.stdout.split())
    assert "Behaviour:" in out and "refund-happy-path: pass → fail" in out
    assert "store credit" in out
