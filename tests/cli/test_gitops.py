"""The git-ops recipe: the CI workflow's commands, run in order on a scratch git repository,
and the pre-commit hooks, run by the pre-commit package itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import REPO, focalctl

WORKFLOW = REPO / "examples" / "ci" / ".github" / "workflows" / "focal.yml"


def _git_repo(tmp: Path) -> Path:
    repo = tmp / "bundle-repo"
    repo.mkdir()
    shutil.copytree(REPO / "examples" / "retail", repo / "agents.d")
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "bundle"]):
        subprocess.run(
            ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args],
            cwd=repo,
            check=True,
        )
    return repo


def _steps() -> tuple[dict[str, str], list[tuple[str, str]]]:
    doc = YAML(typ="safe").load(WORKFLOW.read_text())
    env = {k: str(v) for k, v in doc["env"].items() if "${{" not in str(v)}
    [job] = doc["jobs"].values()
    runs = [(s.get("name", ""), s["run"]) for s in job["steps"] if "run" in s]
    return env, runs


def test_the_workflow_commands_run_in_order_on_a_scratch_repository(tmp_path: Path) -> None:
    repo = _git_repo(tmp_path)
    env, runs = _steps()
    assert [name for name, _ in runs] == [
        "install focalctl",
        "validate (annotations on the pull request)",
        "validate (SARIF for code scanning)",
        "simulate (JUnit)",
        "plan with behaviour",
        "apply",
    ]
    full = {
        **os.environ,
        **env,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
        "NO_COLOR": "1",
        "FOCAL_STORE": f"sqlite:///{tmp_path}/store.db",
        "FOCAL_TARGET": f"file:{tmp_path}/live",
        "GITHUB_SHA": "0123abc",
    }
    for name, script in runs[1:]:  # the install step: focalctl is this checkout
        proc = subprocess.run(
            ["bash", "-e", "-c", script], cwd=repo, env=full, capture_output=True, text=True
        )
        assert proc.returncode == 0, (name, proc.stdout[-2000:], proc.stderr[-2000:])
    sarif = json.loads((repo / "focal.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"] == []
    suite = ET.parse(repo / "simulate.xml").getroot()
    assert suite.get("failures") == "0" and int(suite.get("tests") or 0) >= 10
    assert (repo / "simulate-results" / "acme" / "refund-happy-path.txt").exists()
    plan = (repo / "plan.txt").read_text()
    assert "Behaviour" in plan and "Plan:" in plan
    history = focalctl("history", "--tenant", "acme", "--json", cwd=repo, env=full)
    [release] = json.loads(history.stdout)["releases"]
    assert release["message"] == "0123abc"
    head = subprocess.run(
        ["git", "log", "-1", "--format=%h %an <%ae>"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split(" ", 1)
    # the workflow's reports beside the bundle are not bundle files: the commit is clean
    assert [release["git_commit"], release["git_author"]] == [head[0], head[1].strip()]


@pytest.mark.slow
def test_the_pre_commit_hook_passes_a_good_bundle_and_stops_a_broken_one(tmp_path: Path) -> None:
    """Packaging as much as the hook: pre-commit try-repo builds a fresh virtualenv and
    pip-installs this checkout on each run (minutes under load)."""
    pre_commit = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    if pre_commit is None:
        pytest.fail("pre-commit is not installed: it is in the dev extra (scripts/bootstrap)")
    repo = _git_repo(tmp_path)
    hook = [pre_commit, "try-repo", str(REPO), "focalctl-validate", "--all-files"]
    env = {**os.environ, "NO_COLOR": "1"}
    ok = subprocess.run(hook, cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr[-3000:]
    assert "focalctl validate" in ok.stdout and "Passed" in ok.stdout
    agent = repo / "agents.d" / "agents" / "support.yaml"
    agent.write_text(agent.read_text().replace("scenarios: [refunds", "scenarios: [refnds"))
    bad = subprocess.run(hook, cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert bad.returncode == 1 and "Failed" in bad.stdout
    assert "unknown scenario 'refnds'" in bad.stdout and "did you mean 'refunds'" in bad.stdout
