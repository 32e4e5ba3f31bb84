"""scripts/quickstart: --help prints its usage and does nothing else."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the script whose bootstrap leaves a mark (and fails) if it is ever run."""
    (tmp_path / "scripts").mkdir()
    shutil.copy2(REPO / "scripts" / "quickstart", tmp_path / "scripts" / "quickstart")
    bootstrap = tmp_path / "scripts" / "bootstrap"
    bootstrap.write_text('#!/usr/bin/env bash\ntouch "$(dirname "$0")/../bootstrapped"\nexit 1\n')
    bootstrap.chmod(0o755)
    return tmp_path


def _run(checkout: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(checkout / "scripts" / "quickstart"), *args],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize("args", [("--help",), ("-h",), ("examples/retail", "--port", "9", "-h")])
def test_help_prints_usage_and_changes_nothing(checkout: Path, args: tuple[str, ...]) -> None:
    before = sorted(p.relative_to(checkout) for p in checkout.rglob("*"))
    proc = _run(checkout, *args)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Usage: scripts/quickstart [BUNDLE] [--port N]")
    assert proc.stderr == ""
    # Not bootstrapped (no .venv), nothing validated, applied or served (no .focal).
    assert sorted(p.relative_to(checkout) for p in checkout.rglob("*")) == before


@pytest.mark.parametrize("args", [("--prot", "9"), ("--port",)])
def test_usage_errors_exit_2_before_doing_anything(checkout: Path, args: tuple[str, ...]) -> None:
    proc = _run(checkout, *args)
    assert proc.returncode == 2
    assert "Usage: scripts/quickstart" in proc.stderr
    assert not (checkout / "bootstrapped").exists()


def test_without_help_it_gets_to_bootstrap(checkout: Path) -> None:
    # The fake bootstrap proves the tests above would notice a script that runs on.
    proc = _run(checkout, "agents.d")
    assert proc.returncode == 1
    assert (checkout / "bootstrapped").exists()
