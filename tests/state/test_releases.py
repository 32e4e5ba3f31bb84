"""show / diff between stored releases, rollback's plan and --dry-run, history's active mark."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from focalctl.cli.main import app
from tests.conftest import focalctl, focalctl_in_process

runner = CliRunner()


def _rename_step(workspace: Path) -> None:
    """Version 2: a warmer temperature and step 'report' renamed to 'status'."""
    tenant = workspace / "agents.d" / "tenant.yaml"
    tenant.write_text(tenant.read_text().replace("temperature: 0.4", "temperature: 0.6"))
    scenario = workspace / "agents.d" / "scenario.yaml"
    text = scenario.read_text()
    assert "id: report" in text and "to: report" in text
    scenario.write_text(
        text.replace("id: report", "id: status").replace("to: report", "to: status")
    )


@pytest.fixture
def two_releases(workspace: Path) -> Path:
    first = focalctl_in_process(
        "apply", "agents.d", "--auto-approve", "-m", "first [bold]x[/]", cwd=workspace
    )
    assert first.returncode == 0, first.stderr
    _rename_step(workspace)
    second = focalctl_in_process("apply", "agents.d", "--auto-approve", cwd=workspace)
    assert second.returncode == 0, second.stderr
    return workspace


def _world(workspace: Path) -> tuple[str, dict[str, str]]:
    """What a command may not change: the store's history and every file of the target."""
    hist = focalctl_in_process("history", "--tenant", "demo", "--json", cwd=workspace)
    assert hist.returncode == 0, hist.stderr
    live = workspace / ".focal" / "live"
    files = {
        str(p.relative_to(live)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(live.rglob("*"))
        if p.is_file()
    }
    return hist.stdout, files


def test_diff_between_releases_is_the_plan_diff(two_releases: Path) -> None:
    doc = json.loads(
        focalctl_in_process("diff", "demo", "1", "2", "--format", "json", cwd=two_releases).stdout
    )
    assert doc["format_version"] == "1.1"
    assert doc["base"]["version"] == 1 and doc["candidate"]["version"] == 2
    actions = {(c["action"], c["address"], c["new_address"]) for c in doc["changes"]}
    assert ("update", "Tenant/demo", None) in actions
    assert any(a == "replace" and n and n.endswith("/status") for a, _, n in actions)
    assert any("renamed to 'status'" in r for r in doc["risks"])
    text = focalctl_in_process("diff", "demo", "1", "2", cwd=two_releases)
    assert text.returncode == 0, text.stderr
    assert "version 2" in text.stdout and "against version 1" in text.stdout
    assert "defaults.llm.temperature: 0.4 → 0.6" in text.stdout
    assert "Risks" in text.stdout and "Diff: " in text.stdout
    same = focalctl_in_process("diff", "demo", "2", "2", cwd=two_releases)
    assert same.returncode == 0 and "No changes" in same.stdout


def test_show_one_release_and_mark_the_active_one(two_releases: Path) -> None:
    one = json.loads(
        focalctl_in_process("show", "demo", "1", "--format", "json", cwd=two_releases).stdout
    )
    two = json.loads(
        focalctl_in_process("show", "demo", "2", "-f", "json", cwd=two_releases).stdout
    )
    assert one["format_version"] == "1.1" and one["version"] == 1 and one["kind"] == "apply"
    assert one["active"] is False and two["active"] is True
    assert one["message"] == "first [bold]x[/]" and one["author"]
    assert one["snapshot"].startswith("sha256:") and one["snapshot"] != two["snapshot"]
    assert one["objects"]["total"] == sum(one["objects"]["by_kind"].values()) == 10
    text = focalctl_in_process("show", "demo", "2", cwd=two_releases)
    assert text.returncode == 0, text.stderr
    assert "version 2 (active)" in text.stdout and two["snapshot"] in text.stdout
    hist = json.loads(
        focalctl_in_process("history", "--tenant", "demo", "--json", cwd=two_releases).stdout
    )
    assert hist["active"] == 2
    assert [r["active"] for r in hist["releases"]] == [False, True]
    table = focalctl_in_process("history", "--tenant", "demo", cwd=two_releases).stdout
    marked = [line for line in table.splitlines() if "│ *" in line]
    assert len(marked) == 1 and "│ 2 " in marked[0]


def test_unknown_tenant_or_version_names_the_known_versions(two_releases: Path) -> None:
    for args in (["show", "demo", "7"], ["diff", "demo", "1", "7"]):
        proc = focalctl_in_process(*args, cwd=two_releases)
        assert proc.returncode == 1, proc.stdout
        assert "demo/dev has no release version 7" in proc.stderr
        assert "known versions: 1, 2" in proc.stderr and "Traceback" not in proc.stderr
    other = focalctl_in_process("show", "acme", "1", cwd=two_releases)
    assert other.returncode == 1 and "acme/dev has no releases yet" in other.stderr
    env = focalctl_in_process("show", "demo", "1", "--env", "prod", cwd=two_releases)
    assert env.returncode == 1 and "demo/prod has no releases yet" in env.stderr


def test_rollback_dry_run_shows_the_plan_and_changes_nothing(two_releases: Path) -> None:
    before = _world(two_releases)
    assert before[1], "no target files to watch"
    proc = focalctl_in_process(
        "rollback", "--tenant", "demo", "--to", "1", "--dry-run", cwd=two_releases
    )
    assert proc.returncode == 0, proc.stderr
    assert "defaults.llm.temperature: 0.6 → 0.4" in proc.stdout
    assert "step 'status' of scenario" in proc.stdout and "renamed to 'report'" in proc.stdout
    assert "Dry run: nothing was changed." in proc.stdout
    assert _world(two_releases) == before


def test_rollback_prints_its_plan_before_it_releases(two_releases: Path) -> None:
    # Without a terminal and --auto-approve it refuses after showing the plan (a real process:
    # its stdin is not a terminal).
    refused = focalctl("rollback", "--tenant", "demo", "--to", "1", cwd=two_releases)
    assert refused.returncode == 1 and "--auto-approve" in refused.stderr
    assert "Rollback: " in refused.stdout and "renamed to 'report'" in refused.stdout
    args = ("rollback", "--tenant", "demo", "--to", "1", "--auto-approve")
    proc = focalctl_in_process(*args, cwd=two_releases)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.index("temperature: 0.6 → 0.4") < out.index("Rolled back demo (dev): version 3")
    hist = json.loads(
        focalctl_in_process("history", "--tenant", "demo", "--json", cwd=two_releases).stdout
    )
    assert hist["active"] == 3 and hist["releases"][2]["rollback_of"] == 1


def test_through_the_runner_markup_prints_literally_and_bad_format_is_usage(
    two_releases: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(two_releases)
    env = {"NO_COLOR": "1"}
    shown = runner.invoke(app, ["show", "demo", "1"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "first [bold]x[/]" in shown.output
    diffed = runner.invoke(app, ["diff", "demo", "2", "1"], env=env)
    assert diffed.exit_code == 0 and "defaults.llm.temperature: 0.6 → 0.4" in diffed.output
    assert runner.invoke(app, ["show", "demo", "1", "--format", "xml"], env=env).exit_code == 2
    assert runner.invoke(app, ["diff", "demo", "1"], env=env).exit_code == 2
    assert runner.invoke(app, ["show", "a:b", "1"], env=env).exit_code == 2
