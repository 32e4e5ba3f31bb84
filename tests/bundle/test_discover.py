"""Discovery: symbolic links never lead out of the bundle, and unreadable entries are
diagnostics (FOC100 at their path), never an internal error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from focalctl.bundle.loader import discover
from focalctl.cli.main import app

HEADER = "apiVersion: focal/v1\nkind: Tenant\nmetadata: {name: t1}\nspec: {}\n"
SECRET = "root:$6$saltsalt$NOT-FOR-YOUR-EYES:19000:0:99999:7:::"


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """tmp/bundle/ (the root) next to tmp/outside/ (a secret file and a YAML directory)."""
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "shadow").write_text(SECRET + "\n")
    (outside / "dir" / "x.yaml").write_text(HEADER)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "tenant.yaml").write_text(HEADER)
    return bundle


def _run(cwd: Path, *args: str) -> tuple[int, str]:
    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, ["validate", "--no-cache", *args], env={"NO_COLOR": "1"})
    finally:
        os.chdir(old)
    return result.exit_code, result.output


def test_a_link_to_a_file_outside_the_bundle_is_refused_and_never_read(layout: Path) -> None:
    (layout / "s.yaml").symlink_to(layout.parent / "outside" / "shadow")
    for target in (".", "s.yaml"):  # the directory, and the link named on the command line
        code, out = _run(layout, target)
        assert code == 1, out
        assert "s.yaml:1:1: error[FOC100]" in out and "outside the bundle" in out
        assert "root:" not in out and "NOT-FOR-YOUR-EYES" not in out


def test_a_link_to_a_directory_outside_the_bundle_is_refused(layout: Path) -> None:
    (layout / "more").symlink_to(layout.parent / "outside" / "dir")
    files, diags = discover([layout])
    assert [Path(p).name for p, _ in files] == ["tenant.yaml"]
    assert [(d.code, Path(d.file or "").name) for d in diags] == [("FOC100", "more")]


def test_links_inside_the_bundle_are_fine(layout: Path) -> None:
    (layout / "alias.yaml").symlink_to("tenant.yaml")  # the same file: read once
    (layout / "sub").mkdir()
    (layout / "sub" / "up").symlink_to("..")  # a directory link inside: not followed
    files, diags = discover([layout])
    assert diags == []
    assert [Path(p).name for p, _ in files] == ["alias.yaml"]


def test_a_symlink_loop_is_a_diagnostic_at_its_path(layout: Path) -> None:
    (layout / "a.yaml").symlink_to("b.yaml")
    (layout / "b.yaml").symlink_to("a.yaml")
    (layout / "d").symlink_to("d")
    code, out = _run(layout, ".")
    assert code == 1, out
    for name in ("a.yaml", "b.yaml", "d"):
        assert f"{name}:1:1: error[FOC100]" in out
    code, out = _run(layout, "a.yaml")
    assert (code, "a.yaml:1:1: error[FOC100]" in out) == (1, True), out


def test_an_unreadable_subdirectory_is_a_diagnostic(
    layout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(Simulated: the tests may run as root, who can list any directory.)"""
    (layout / "locked").mkdir()
    scandir = os.scandir

    def refuse(path: str | os.PathLike[str]) -> object:
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuse)
    code, out = _run(layout, ".")
    assert code == 1, out
    assert "locked:1:1: error[FOC100]" in out and "Permission denied" in out
