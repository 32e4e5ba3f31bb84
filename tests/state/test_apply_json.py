"""`apply` and `rollback` with `--format json`: one document on stdout (the plan, the release
and where it was published), progress on stderr; JSON never asks for confirmation, so it needs
`--auto-approve` (or `--dry-run` for rollback), as Terraform's `apply -json` does."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from focalctl.cli.main import app
from tests.conftest import focalctl_in_process


def test_apply_and_rollback_print_one_json_document(workspace: Path) -> None:
    first = focalctl_in_process(
        "apply", "agents.d", "--auto-approve", "--format", "json", cwd=workspace
    )
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert doc["format_version"] == "1.1"
    [one] = doc["applied"]
    assert one["release"]["version"] == 1 and one["release"]["snapshot"].startswith("sha256:")
    assert one["published_to"] and one["plan"]["tenant"] == "demo"
    assert any(c["action"] == "create" for c in one["plan"]["changes"])

    same = focalctl_in_process("apply", "agents.d", "--auto-approve", "-f", "json", cwd=workspace)
    assert same.returncode == 0, same.stderr
    assert json.loads(same.stdout)["applied"][0]["release"] is None, "no change, no release"

    tenant = workspace / "agents.d" / "tenant.yaml"
    tenant.write_text(tenant.read_text().replace("temperature: 0.4", "temperature: 0.7"))
    assert focalctl_in_process("apply", "agents.d", "--auto-approve", cwd=workspace).returncode == 0

    dry = focalctl_in_process(
        "rollback", "--tenant", "demo", "--to", "1", "--dry-run", "--format", "json", cwd=workspace
    )
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert (plan["from_version"], plan["to_version"], plan["dry_run"]) == (2, 1, True)
    assert plan["release"] is None and plan["plan"]["changes"], plan

    back = focalctl_in_process(
        "rollback", "--tenant", "demo", "--to", "1", "--auto-approve", "-f", "json", cwd=workspace
    )
    assert back.returncode == 0, back.stderr
    done = json.loads(back.stdout)
    assert done["release"]["version"] == 3 and done["published_to"]
    assert done["release"]["snapshot"] == one["release"]["snapshot"]


def test_json_output_never_prompts(workspace: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["apply", str(workspace / "agents.d"), "--format", "json"])
    assert result.exit_code == 2
    assert "--format json cannot ask for confirmation" in result.output
    rolled = runner.invoke(app, ["rollback", "--tenant", "demo", "--to", "1", "-f", "json"])
    assert rolled.exit_code == 2 and "--dry-run" in rolled.output
    bad = runner.invoke(app, ["apply", str(workspace / "agents.d"), "--format", "yaml"])
    assert bad.exit_code == 2 and "'yaml' is not one of text, json" in bad.output
