"""focalctl fmt, through typer's runner and as a real subprocess."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from focalctl.cli.main import app
from tests.conftest import focalctl_in_process

runner = CliRunner()
MESSY = "apiVersion: focal/v1  \nkind: Tenant\nmetadata:\n    name: demo   # kept\nspec:\n  tags:\n  - a\n"
TIDY = "apiVersion: focal/v1\nkind: Tenant\nmetadata:\n  name: demo     # kept\nspec:\n  tags:\n    - a\n"
BROKEN = "apiVersion: focal/v1\nkind: [Tenant\n"


def test_committed_bundles_pass_fmt_check() -> None:
    proc = focalctl_in_process("fmt", "--check", "examples", "agents.d")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 file(s) would be reformatted" in proc.stdout


def test_check_lists_what_would_change_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "messy.yaml").write_text(MESSY)
    (tmp_path / "tidy.yaml").write_text(TIDY)
    result = runner.invoke(app, ["fmt", "--check", str(tmp_path)], env={"NO_COLOR": "1"})
    assert result.exit_code == 1, result.output
    assert "would reformat" in result.output and "messy.yaml" in result.output
    assert "tidy.yaml" not in result.output.replace("1 unchanged", "")
    assert (tmp_path / "messy.yaml").read_text() == MESSY


def test_fmt_rewrites_in_place_then_is_clean(tmp_path: Path) -> None:
    f = tmp_path / "messy.yaml"
    f.write_text(MESSY)
    first = focalctl_in_process("fmt", "messy.yaml", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "reformatted messy.yaml" in first.stdout
    assert f.read_text() == TIDY
    again = focalctl_in_process("fmt", "--check", "messy.yaml", cwd=tmp_path)
    assert again.returncode == 0 and "0 file(s) would be reformatted" in again.stdout


def test_a_file_that_does_not_parse_is_reported_and_never_rewritten(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(BROKEN)
    (tmp_path / "messy.yaml").write_text(MESSY)
    for args in (["fmt", "."], ["fmt", "--check", "."]):
        proc = focalctl_in_process(*args, cwd=tmp_path)
        assert proc.returncode == 1, proc.stdout
        assert "bad.yaml:3:1: error[FOC101]" in proc.stderr
        assert (tmp_path / "bad.yaml").read_text() == BROKEN
    # The other file was still formatted by the run without --check.
    assert (tmp_path / "messy.yaml").read_text() == TIDY


def test_a_missing_path_is_an_error_and_a_bad_option_a_usage_error(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["fmt", str(tmp_path / "nope")], env={"NO_COLOR": "1"})
    assert missing.exit_code == 1
    assert runner.invoke(app, ["fmt", "--nope"]).exit_code == 2


def test_file_names_with_markup_print_literally(tmp_path: Path) -> None:
    f = tmp_path / "[bold]x.yaml"
    f.write_text(MESSY)
    result = runner.invoke(app, ["fmt", "--check", str(f)], env={"NO_COLOR": "1"})
    assert result.exit_code == 1 and "[bold]x.yaml" in result.output


def test_a_file_that_cannot_be_written_is_an_error_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import focalctl.fmt

    def refuse(path: Path, data: bytes) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(focalctl.fmt, "write_atomic", refuse)
    (tmp_path / "messy.yaml").write_text(MESSY)
    result = runner.invoke(app, ["fmt", str(tmp_path)], env={"NO_COLOR": "1"})
    assert result.exit_code == 1, result.output
    assert "cannot write" in result.output and "Permission denied" in result.output
    assert "reformatted messy.yaml" not in result.output
    assert (tmp_path / "messy.yaml").read_text() == MESSY
