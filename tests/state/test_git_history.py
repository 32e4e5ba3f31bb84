"""Releases record the bundle's git commit and author (schema version 2): the git lookup, the
migration of a version-1 store on both backends, and history / show / plan files through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from focalctl.cli.main import app
from focalctl.gitinfo import git_info
from focalctl.release import plan_digest
from focalctl.store import open_store
from focalctl.store.migrations import SCHEMA_VERSION
from runtime.snapshot import snapshot_id
from tests.conftest import focalctl_in_process

AUTHOR = "Ann [bold]Dev[/] <ann@example.org>"
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Ann [bold]Dev[/]",
    "GIT_AUTHOR_EMAIL": "ann@example.org",
    "GIT_COMMITTER_NAME": "ci",
    "GIT_COMMITTER_EMAIL": "ci@example.org",
}


def _git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return proc.stdout.strip()


def _repo(root: Path) -> str:
    """``root`` as a git work tree with everything committed; returns HEAD's short sha."""
    _git(root, "init", "-q")
    (root / ".gitignore").write_text(".focal/\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "bundle")
    return _git(root, "rev-parse", "--short", "HEAD")


def test_git_info_of_a_clean_and_a_dirty_bundle(workspace: Path) -> None:
    sha = _repo(workspace)
    bundle = workspace / "agents.d"
    info = git_info(bundle)
    assert info is not None and (info.commit, info.author) == (sha, AUTHOR)
    (workspace / "notes.txt").write_text("not a bundle file")
    (workspace / "state.db").write_text("nor this")
    assert git_info(bundle) == info  # only the bundle's YAML files count
    (bundle / "new.yml").write_text("# untracked\n")
    assert git_info(bundle) is not None and git_info(bundle).commit == f"{sha}+dirty"  # type: ignore[union-attr]
    assert git_info(bundle / "tenant.yaml") == info  # a file bundle: only that file
    (bundle / "new.yml").unlink()
    (bundle / "tenant.yaml").write_text((bundle / "tenant.yaml").read_text() + "# edit\n")
    assert git_info(bundle / "tenant.yaml").commit == f"{sha}+dirty"  # type: ignore[union-attr]


def test_no_git_no_repo_no_commit_or_a_timeout_is_no_information(
    workspace: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert git_info(workspace / "agents.d") is None  # not a work tree
    empty = tmp_path_factory.mktemp("empty")
    _git(empty, "init", "-q")
    assert git_info(empty) is None  # no commit yet
    _repo(workspace)
    assert git_info(workspace / "agents.d", timeout=1e-9) is None
    monkeypatch.setenv("PATH", str(tmp_path_factory.mktemp("no-git")))
    assert git_info(workspace / "agents.d") is None


def test_a_version_1_store_is_migrated_and_keeps_its_releases(store_url: str) -> None:
    """A store as the previous focalctl left it: no git columns, schema version 1."""
    store = open_store(store_url)
    raw = b'{"format":"focal.snapshot/v1"}'
    with store.tx() as conn:
        store.put_snapshot(
            conn,
            id=snapshot_id(raw),
            tenant="t",
            raw=raw,
            compiler_version="x",
            source_digest="d",
            provenance={},
        )
        store.add_release(
            conn, tenant="t", env="dev", snapshot_id=snapshot_id(raw), kind="apply", message="old"
        )
        store.mark_published("t", "dev", 1, conn=conn)
        conn.execute(sa.text("ALTER TABLE focal_releases DROP COLUMN git_commit"))
        conn.execute(sa.text("ALTER TABLE focal_releases DROP COLUMN git_author"))
        conn.execute(sa.text("UPDATE focal_schema_version SET version = 1"))
    store.close()
    store = open_store(store_url)
    with store.tx() as conn:
        version = conn.execute(sa.text("SELECT version FROM focal_schema_version")).scalar_one()
    assert version == SCHEMA_VERSION == 2
    (old,) = store.history("t", "dev")
    assert (old.message, old.git_commit, old.git_author) == ("old", None, None)
    with store.tx() as conn:
        store.add_release(
            conn,
            tenant="t",
            env="dev",
            snapshot_id=snapshot_id(raw),
            kind="apply",
            message="new",
            git_commit="abc1234+dirty",
            git_author=AUTHOR,
        )
        store.mark_published("t", "dev", 2, conn=conn)
    new = store.history("t", "dev")[-1]
    assert new.to_json()["git_commit"] == "abc1234+dirty" and new.git_author == AUTHOR
    store.close()


def test_a_store_from_before_schema_versions_gets_the_columns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    open_store(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE focal_releases DROP COLUMN git_commit"))
        conn.execute(sa.text("ALTER TABLE focal_releases DROP COLUMN git_author"))
        conn.execute(sa.text("DELETE FROM focal_schema_version"))
    engine.dispose()
    store = open_store(url)
    assert store.history("t", "dev") == []
    columns = {c["name"] for c in sa.inspect(store.engine).get_columns("focal_releases")}
    assert {"git_commit", "git_author"} <= columns
    store.close()


def test_apply_records_the_commit_and_history_shows_it(workspace: Path) -> None:
    sha = _repo(workspace)
    first = focalctl_in_process("apply", "agents.d", "--auto-approve", cwd=workspace)
    assert first.returncode == 0, first.stderr
    tenant = workspace / "agents.d" / "tenant.yaml"
    tenant.write_text(tenant.read_text().replace("temperature: 0.4", "temperature: 0.6"))
    saved = focalctl_in_process("plan", "agents.d", "-out", "p.plan", cwd=workspace)
    assert saved.returncode == 0, saved.stderr
    assert json.loads((workspace / "p.plan").read_text())["git"] == {
        "commit": f"{sha}+dirty",
        "author": AUTHOR,
    }
    second = focalctl_in_process("apply", "p.plan", "--auto-approve", cwd=workspace)
    assert second.returncode == 0, second.stderr
    hist = focalctl_in_process("history", "--tenant", "demo", "--format", "json", cwd=workspace)
    assert hist.returncode == 0, hist.stderr
    releases = json.loads(hist.stdout)["releases"]
    assert [(r["git_commit"], r["git_author"]) for r in releases] == [
        (sha, AUTHOR),
        (f"{sha}+dirty", AUTHOR),
    ]
    rollback = focalctl_in_process(
        "rollback", "--tenant", "demo", "--to", "1", "--auto-approve", cwd=workspace
    )
    assert rollback.returncode == 0, rollback.stderr
    text = focalctl_in_process("history", "--tenant", "demo", cwd=workspace, env={"COLUMNS": "250"})
    assert text.returncode == 0 and f"{sha}+dirty" in text.stdout and AUTHOR in text.stdout


def test_history_and_show_through_the_runner(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workspace)
    runner = CliRunner()
    env = {"NO_COLOR": "1", "COLUMNS": "250"}
    store = ["--store", f"sqlite:///{workspace}/s.db"]
    applied = runner.invoke(app, ["apply", "agents.d", "--auto-approve", *store], env=env)
    assert applied.exit_code == 0, applied.output  # not a git work tree: nothing recorded
    sha = _repo(workspace)
    (workspace / "agents.d" / "extra.yaml").write_text(
        (workspace / "agents.d" / "goals.yaml")
        .read_text()
        .replace("order-feedback", "other-feedback")
    )
    applied = runner.invoke(app, ["apply", "agents.d", "--auto-approve", *store], env=env)
    assert applied.exit_code == 0, applied.output
    hist = runner.invoke(app, ["history", "--tenant", "demo", *store], env=env)
    assert hist.exit_code == 0, hist.output
    assert f"{sha}+dirty" in hist.output and AUTHOR in hist.output  # markup printed literally
    doc = json.loads(
        runner.invoke(app, ["history", "--tenant", "demo", "-f", "json", *store]).output
    )
    assert [r["git_commit"] for r in doc["releases"]] == [None, f"{sha}+dirty"]
    assert (
        json.loads(runner.invoke(app, ["history", "--tenant", "demo", "--json", *store]).output)
        == doc
    )
    shown = runner.invoke(app, ["show", "demo", "2", *store], env=env)
    assert f"commit:   {sha}+dirty by {AUTHOR}" in shown.output
    bad = runner.invoke(app, ["history", "--tenant", "demo", "-f", "xml", *store], env=env)
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_a_plan_file_of_format_1_1_still_applies_and_a_newer_one_is_refused(
    workspace: Path,
) -> None:
    assert focalctl_in_process("plan", "agents.d", "-out", "p.plan", cwd=workspace).returncode == 0
    doc = json.loads((workspace / "p.plan").read_text())
    newer = {**doc, "format_version": "9.0"}
    newer["digest"] = plan_digest(newer)
    (workspace / "new.plan").write_text(json.dumps(newer))
    proc = focalctl_in_process("apply", "new.plan", "--auto-approve", cwd=workspace)
    assert (
        proc.returncode == 1 and "plan format '9.0' is not one this focalctl applies" in proc.stderr
    )
    assert "Traceback" not in proc.stderr
    old = {k: v for k, v in doc.items() if k != "git"}
    old["format_version"] = "1.1"
    old["digest"] = plan_digest(old)
    (workspace / "old.plan").write_text(json.dumps(old))
    proc = focalctl_in_process("apply", "old.plan", "--auto-approve", cwd=workspace)
    assert proc.returncode == 0, proc.stderr
    assert "+ Tenant/demo" in proc.stdout and "Applied demo (dev) version 1" in proc.stdout
