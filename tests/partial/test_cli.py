"""The cache as a user meets it: focalctl in a working directory. One test runs real
processes (a second process reuses what the first wrote); the rest run in process, through
typer's runner, where the behaviour is the same."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.conftest import REPO, focalctl_in_process
from tests.conftest import focalctl as run_focalctl


def focalctl(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """In process, with the cache's report on stderr (FOCAL_DEBUG) and no cache setting
    inherited: not even the session's FOCAL_CACHE_DIR, for these tests are about where the
    cache goes."""
    return focalctl_in_process(*args, cwd=cwd, env={"FOCAL_DEBUG": "1", **env}, unset=_UNSET)


def focalctl_process(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The same, as a real ``focalctl`` process."""
    return run_focalctl(*args, cwd=cwd, env={"FOCAL_DEBUG": "1"}, unset=_UNSET)


_UNSET = ("FOCAL_NO_CACHE", "FOCAL_CACHE_DIR")


def _workspace(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "agents.d", tmp_path / "agents.d")
    return tmp_path


def test_plan_writes_the_cache_and_the_next_plan_reuses_it(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    first = focalctl_process("plan", "agents.d", cwd=ws)
    assert first.returncode == 0, first.stderr
    assert "cache: no cache yet; files 0 restored, 6 parsed" in first.stderr
    assert len(list((ws / ".focal" / "cache").glob("partial-*.bin"))) == 1
    again = focalctl_process("plan", "agents.d", cwd=ws)
    assert "cache: used; files 6 restored, 0 parsed; checks 7 reused, 0 computed" in again.stderr
    assert again.stdout == first.stdout


def test_validate_and_plan_share_the_cache_of_a_bundle(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    assert focalctl("validate", "agents.d", cwd=ws).returncode == 0
    plan = focalctl("plan", "agents.d", cwd=ws)
    assert "files 6 restored, 0 parsed; checks 7 reused, 0 computed" in plan.stderr


def test_no_cache_neither_reads_nor_writes(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    for run in (
        focalctl("plan", "agents.d", "--no-cache", cwd=ws),
        focalctl("validate", "agents.d", cwd=ws, FOCAL_NO_CACHE="1"),
    ):
        assert run.returncode == 0, run.stderr
        assert "cache: off; files 0 restored, 6 parsed" in run.stderr
    assert not (ws / ".focal" / "cache").exists()


def test_an_unwritable_cache_directory_only_makes_runs_cold(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    (ws / "not-a-dir").write_text("")
    for _ in range(2):
        run = focalctl("validate", "agents.d", cwd=ws, FOCAL_CACHE_DIR=str(ws / "not-a-dir"))
        assert run.returncode == 0, run.stderr
        assert "partial-parse cache not written" in run.stderr
        assert "Traceback" not in run.stderr


def test_cache_dir_can_be_moved(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    assert (
        focalctl("validate", "agents.d", cwd=ws, FOCAL_CACHE_DIR=str(tmp_path / "c")).returncode
        == 0
    )
    assert len(list((tmp_path / "c").glob("partial-*.bin"))) == 1
    assert not (ws / ".focal" / "cache").exists()
