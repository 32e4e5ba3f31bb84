"""focalctl explain: effective settings with the level and file:line of each, as a user runs it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import REPO, focalctl_in_process


def _rows(stdout: str) -> dict[str, tuple[object, str, str]]:
    doc = json.loads(stdout)
    assert doc["format_version"] == "1.1"
    return {r["setting"]: (r["value"], r["level"], r["source"]) for r in doc["settings"]}


def test_explain_a_step_of_a_bundle_names_the_level_and_line_of_each_value() -> None:
    proc = focalctl_in_process(
        "explain",
        "acme/support/refunds/confirm_refund",
        "--bundle",
        "examples/retail",
        "--channel",
        "sms-main",
        "--json",
        "--no-cache",
    )
    assert proc.returncode == 0, proc.stderr
    rows = _rows(proc.stdout)
    scenario = (REPO / "examples/retail/scenarios/refunds.yaml").read_text().splitlines()
    value, level, source = rows["llm.temperature"]
    assert (value, level) == (0.1, "scenario")
    file, line = source.rsplit(":", 1)
    assert file == "examples/retail/scenarios/refunds.yaml"
    assert "temperature: 0.1" in scenario[int(line) - 1]
    assert rows["turn.cancelInFlight"][:2] == ("never", "scenario")
    assert rows["turn.debounce"][1:] == ("channel", "built-in sms channel default")
    assert rows["llm.model"][1] in ("tenant", "default")


def test_explain_the_active_release_after_apply(tmp_path: Path) -> None:
    shutil.copytree(REPO / "agents.d", tmp_path / "agents.d")
    applied = focalctl_in_process(
        "apply", "agents.d", "--auto-approve", "-m", "go [/live]", cwd=tmp_path
    )
    assert applied.returncode == 0, applied.stderr
    history = focalctl_in_process(
        "history", "--tenant", "demo", cwd=tmp_path
    )  # free text with brackets
    assert history.returncode == 0 and "go [/live]" in history.stdout, history.stderr
    live = focalctl_in_process("explain", "demo/concierge", "--json", cwd=tmp_path)
    assert live.returncode == 0, live.stderr
    assert json.loads(live.stdout)["source"] == "dev version 1"
    value, level, source = _rows(live.stdout)["llm.temperature"]
    assert (value, level) == (0.4, "tenant") and source.startswith("agents.d/tenant.yaml:")
    # a wide terminal: at 80 columns rich may fold the setting's name (it depends on the
    # widths of the other cells, so on the machine's paths)
    table = focalctl_in_process("explain", "demo/concierge", cwd=tmp_path, env={"COLUMNS": "200"})
    assert table.returncode == 0 and "llm.temperature" in table.stdout


def test_explain_mistakes_are_one_clear_line(tmp_path: Path) -> None:
    cases = {
        ("acme",): "is not TENANT/AGENT[/SCENARIO[/STEP]]",
        ("acme/suport",): "unknown agent 'suport'; did you mean 'support'?",
        ("acme/support/refunds/confirm",): "unknown step of 'refunds' 'confirm'",
        ("globex/support",): "defines no tenant 'globex'",
    }
    for (target,), expected in cases.items():
        proc = focalctl_in_process("explain", target, "--bundle", "examples/retail")
        assert proc.returncode == 1, (target, proc.stdout)
        assert expected in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    no_release = focalctl_in_process("explain", "acme/support", cwd=tmp_path)
    assert no_release.returncode == 1 and "apply a bundle first or pass --bundle" in (
        no_release.stderr
    )
