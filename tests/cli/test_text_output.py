"""The text report: literal source lines, clipped around the caret, a cap on how many problems
are shown, and a cost linear in what is shown."""

from __future__ import annotations

import io
import json
import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from focalctl.cli.main import app
from focalctl.diagnostics import make
from focalctl.diagnostics.render import Report
from focalctl.diagnostics.render.text import WINDOW, render
from tests.conftest import REPO, focalctl_in_process

HEAD = "apiVersion: focal/v1\nkind: Tenant\n"


def _validate(root: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.chdir(root)
    result = CliRunner().invoke(app, ["validate", "--no-cache", *args, "."])
    return result.exit_code, result.output


def _echo_and_caret(out: str, line: int) -> tuple[str, str]:
    """The echoed source line (gutter removed) and its caret line, aligned column for column."""
    rows = out.splitlines()
    i = next(i for i, r in enumerate(rows) if r.startswith(f"{line:>5} | "))
    gutter = len(f"{line:>5} | ")
    return rows[i][gutter:], rows[i + 1][gutter:]


def test_a_long_line_is_clipped_around_the_caret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    filler = "word " * 2_000  # two of them: a 20 KB line
    (tmp_path / "u.yaml").write_text(
        HEAD + f"metadata: {{description: '{filler}', name: Bad, labels: {{x: '{filler}'}}}}\n"
    )
    code, out = _validate(tmp_path, monkeypatch=monkeypatch)
    assert code == 1
    assert max(len(row) for row in out.splitlines()) < 2 * WINDOW + 40, out
    echo, caret = _echo_and_caret(out, 3)  # the caret far right in a 20 KB line
    assert echo.startswith("…") and echo.endswith("…")
    start = caret.index("^")
    assert echo[start : start + 3] == "Bad"


def test_source_lines_are_rendered_literally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rich turned ':x:' into an emoji (and '[b]' into markup), so the caret pointed elsewhere."""
    (tmp_path / "t.yaml").write_text(
        HEAD + 'metadata: {labels: {a: ":x: [b]x[/b] :+1:"}, name: Bad_Name}\n'
    )
    code, out = _validate(tmp_path, monkeypatch=monkeypatch)
    assert code == 1
    echo, caret = _echo_and_caret(out, 3)
    assert ':x: [b]x[/b] :+1:"' in echo
    start = caret.index("^")
    assert echo[start : start + len("Bad_Name")] == "Bad_Name"


def _invalid_documents(root: Path, n: int) -> None:
    (root / "many.yaml").write_text(
        "".join(
            f"apiVersion: focal/v1\nkind: Agnet\nmetadata: {{name: a{i}}}\n---\n" for i in range(n)
        )
    )


def test_text_shows_at_most_max_errors_and_says_how_many_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _invalid_documents(tmp_path, 60)
    code, out = _validate(tmp_path, monkeypatch=monkeypatch)
    assert code == 1
    assert out.count("error[FOC109]") == 50
    assert "… and 10 more errors (use --max-errors 0 to show all)" in out
    assert "60 errors, 0 warnings in 1 file" in out
    code, out = _validate(tmp_path, "--max-errors", "0", monkeypatch=monkeypatch)
    assert out.count("error[FOC109]") == 60 and "more errors" not in out
    code, out = _validate(tmp_path, "--max-errors", "5", "-f", "json", monkeypatch=monkeypatch)
    assert len(json.loads(out)["diagnostics"]) == 60  # machine formats stay complete


def test_rendering_is_linear_in_the_number_of_diagnostics() -> None:
    """50,000 diagnostics in one file: 17 s through one rich call per line, ~0.4 s now."""
    n = 50_000
    source = b"apiVersion: focal/v1\nkind: Agnet\n---\n" * n
    diags = [
        make(
            "FOC109",
            file="f.yaml",
            line=3 * i + 2,
            column=7,
            end_column=12,
            kind="Agnet",
            kinds="Agent",
            hint="did you mean 'Agent'?",
        )
        for i in range(n)
    ]
    out = io.StringIO()
    start = time.perf_counter()
    render(Report(diags, {"f.yaml": source}, 1, 0), out, color=True)
    assert time.perf_counter() - start < 5
    assert out.getvalue().count("FOC109") == n


def test_paths_with_markup_print_as_written(tmp_path: Path) -> None:
    """Paths a user chose (init's directory, schema's --out, plan's -out, the --target that
    apply publishes to) print as written: ``[/]`` in a name once crashed rich's markup parser
    ("internal error: MarkupError"), and ``[bold]`` vanished into a style."""
    odd = "a[/]b[bold]c"
    created = focalctl_in_process("init", str(tmp_path / odd), cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert f"created {tmp_path / odd}" in created.stdout
    assert f"focalctl validate {tmp_path / odd}" in created.stdout

    schemas = focalctl_in_process("schema", "--out", odd, cwd=tmp_path)
    assert schemas.returncode == 0, schemas.stderr
    assert f"schema file(s) to {odd}" in schemas.stdout

    ws = tmp_path / "ws"
    shutil.copytree(REPO / "agents.d", ws / "agents.d")
    (ws / odd).parent.mkdir()  # "a[" holds the plan file "]b[bold]c.plan"
    store = ["--store", f"sqlite:///{ws / 'state.db'}", "--target", f"file:{ws / odd}"]
    saved = focalctl_in_process("plan", "agents.d", *store, "-out", f"{odd}.plan", cwd=ws)
    assert saved.returncode == 0, saved.stderr
    assert f"focalctl apply {odd}.plan" in saved.stdout
    applied = focalctl_in_process("apply", f"{odd}.plan", *store, "--auto-approve", cwd=ws)
    assert applied.returncode == 0, applied.stderr
    assert f"published to file:{ws / odd}" in applied.stdout


def test_paths_that_cannot_be_written_are_errors_not_crashes(tmp_path: Path) -> None:
    """A plan file in a directory that does not exist, schemas under a file, a file target
    under a file: exit 1 with what and where, never an internal error (focalctl_in_process
    re-raises one), and nothing released."""
    shutil.copytree(REPO / "agents.d", tmp_path / "agents.d")
    (tmp_path / "afile").write_text("")
    store = ("--store", f"sqlite:///{tmp_path / 'state.db'}")
    cases = [
        (
            ["plan", "agents.d", *store, "-out", "missing/x.plan"],
            "cannot write the plan to missing/x.plan: No such file or directory",
        ),
        (["schema", "--out", "afile/schemas"], "cannot write schemas to afile/schemas"),
        (
            ["apply", "agents.d", *store, "--target", "file:afile/live", "--auto-approve"],
            "cannot read afile/live/tenants/demo/dev/current.json: Not a directory",
        ),
    ]
    for argv, message in cases:
        run = focalctl_in_process(*argv, cwd=tmp_path)
        assert run.returncode == 1, (argv, run.stdout, run.stderr)
        assert f"error: {message}" in run.stderr, run.stderr
        assert "help: " in run.stderr
    history = focalctl_in_process("history", "--tenant", "demo", *store, cwd=tmp_path)
    assert "has no releases yet" in history.stdout
