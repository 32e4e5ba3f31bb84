"""The broken-bundle corpus: every diagnostic code has a case that asserts code, file, line, column.

``tests/cases/<CODE>/`` (or ``<CODE>-<what>/``, for a code's further cases) holds a small
bundle and ``expect.json`` listing exactly the diagnostics validate (for a 9xx code: lint,
on a bundle that validates) must report (file relative to the case directory); ``args.json``, when present, lists
extra paths to pass. Codes that cannot be a static file (a 9 MiB file; a value that only an
already-validated level could hold) have a generated case below.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from focalctl.bundle import load_bundle
from focalctl.bundle.loader import MAX_FILE_BYTES
from focalctl.checks import run_checks
from focalctl.diagnostics import CODES
from focalctl.lint import lint_paths
from focalctl.validate import validate_paths

CASES = Path(__file__).parent / "cases"
GENERATED = {"FOC106", "FOC210"}


def _case_dirs() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if p.is_dir())


def _validate_in(
    directory: Path, extra: list[str], *, lint: bool = False
) -> set[tuple[str, str | None, int | None, int | None]]:
    """What validate (or, for a lint code's case, lint on the valid bundle) reports."""
    cwd = os.getcwd()
    os.chdir(directory)
    try:
        if lint:
            linted = lint_paths([Path("."), *map(Path, extra)])
            assert linted.valid, "a lint case is a valid bundle"
            diagnostics = linted.diagnostics
        else:
            diagnostics = validate_paths([".", *extra]).diagnostics
    finally:
        os.chdir(cwd)
    return {(d.code, d.file, d.line, d.column) for d in diagnostics}


@pytest.mark.parametrize("case", _case_dirs(), ids=lambda p: p.name)
def test_case_reports_exactly_the_expected_diagnostics(case: Path) -> None:
    expected = {
        (d["code"], d["file"], d["line"], d["column"])
        for d in json.loads((case / "expect.json").read_text())["diagnostics"]
    }
    own = case.name.split("-", 1)[0]
    assert any(code == own for code, *_ in expected), "a case must expect its own code"
    extra = json.loads((case / "args.json").read_text()) if (case / "args.json").exists() else []
    assert _validate_in(case, extra, lint=own.startswith("FOC9")) == expected


def test_every_code_has_title_example_and_case() -> None:
    dirs = {p.name.split("-", 1)[0] for p in _case_dirs()}
    for code, spec in CODES.items():
        if spec.removed:
            continue
        assert spec.title and spec.example, f"{code} lacks a title or an example"
        assert code in dirs or code in GENERATED, (
            f"{code} has no broken-bundle case in tests/cases/"
        )
    assert dirs <= set(CODES), f"case directories for unknown codes: {dirs - set(CODES)}"


def test_file_too_large_is_refused_at_its_first_line(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: b\n" * (MAX_FILE_BYTES // 5 + 1))
    found = _validate_in(tmp_path, [])
    assert found == {("FOC106", "big.yaml", 1, 1)}


def test_effective_settings_out_of_range_after_merge(tmp_path: Path) -> None:
    """FOC210: a level whose value bypassed per-level validation is caught after merging."""
    from runtime.spec import LlmSettings, Settings

    case = CASES / "FOC201"
    bundle, diags = load_bundle(
        [p for p in case.glob("*.yaml") if p.name != "agent.yaml"] + [_agent_file(tmp_path)]
    )
    assert diags == []
    agent = next(o for o in bundle if o.kind == "Agent")
    bad = Settings.model_construct(llm=LlmSettings.model_construct(temperature=7.5))
    object.__setattr__(agent.spec, "settings", bad)
    found = [d for d in run_checks(bundle) if d.code == "FOC210"]
    assert len(found) == 1
    d = found[0]
    assert (Path(d.file or "").name, d.pointer) == ("agent.yaml", "/spec/settings/llm/temperature")
    assert "7.5" in d.message and "bot/flow/start" in d.message


def _agent_file(tmp_path: Path) -> Path:
    path = tmp_path / "agent.yaml"
    text = (CASES / "FOC201" / "agent.yaml").read_text().replace("  displayname: Bot\n", "")
    path.write_text(text + "  settings: {llm: {temperature: 0.5}}\n")
    return path


def test_validate_without_node_trees_reports_exactly_what_it_does_with_them() -> None:
    """``focalctl validate`` drops each file's node trees once its own checks ran (memory) and
    re-parses a file when a later diagnostic needs a position: same diagnostics, same
    positions, over the whole corpus."""
    dirs = _case_dirs()
    assert dirs
    for directory in dirs:
        args = directory / "args.json"
        extra = json.loads(args.read_text()) if args.exists() else []
        paths = [str(directory), *(str(directory / e) for e in extra)]
        kept = validate_paths(paths).diagnostics
        dropped = validate_paths(paths, keep_nodes=False).diagnostics
        assert [d.to_json() for d in dropped] == [d.to_json() for d in kept], directory.name


def test_the_generator_writes_the_committed_cases(tmp_path: Path) -> None:
    """``tests/cases/generate.py`` is how cases are made: what it writes today is what is
    committed, so a case edited by hand (or a generator edited without regenerating) fails."""
    subprocess.run(
        [sys.executable, str(CASES / "generate.py"), str(tmp_path)],
        check=True,
        capture_output=True,
    )
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert len(written) > 100
    stale = [str(p) for p in written if (CASES / p).read_bytes() != (tmp_path / p).read_bytes()]
    assert not stale, f"regenerate with python tests/cases/generate.py: {stale}"
