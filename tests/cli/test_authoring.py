"""validate / schema / init, through typer's runner and as real subprocesses."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from typer.testing import CliRunner

from focalctl.cli.main import app
from focalctl.diagnostics import CODES
from tests.conftest import FOCALCTL, REPO, focalctl, focalctl_env, focalctl_in_process

CASES = REPO / "tests" / "cases"
runner = CliRunner()


def test_validate_clean_bundles_exit_zero() -> None:
    proc = focalctl("validate", "examples", "agents.d")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "documents in" in proc.stdout and "are valid" in proc.stdout


def test_validate_text_shows_source_line_caret_and_hint() -> None:
    proc = focalctl_in_process("validate", ".", cwd=CASES / "FOC302")
    assert proc.returncode == 1
    out = proc.stdout
    assert "scenario.yaml:9:26: error[FOC302]: transition targets unknown step 'edn'" in out
    lines = out.splitlines()
    i = next(n for n, line in enumerate(lines) if "error[FOC302]" in line)
    assert lines[i + 1].strip().startswith("9 |") and "{to: edn}" in lines[i + 1]
    caret = lines[i + 2]
    assert caret.index("^") == lines[i + 1].index("edn") and caret.count("^") == 3
    assert "help: did you mean 'end'?" in lines[i + 3]
    assert out.rstrip().endswith("1 error, 0 warnings in 1 file")


def test_validate_json_is_versioned() -> None:
    proc = focalctl_in_process("validate", "--format", "json", ".", cwd=CASES / "FOC704")
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert doc["format_version"] == "1.1" and doc["valid"] is False
    assert doc["error_count"] == 1 and doc["warning_count"] == 0
    d = doc["diagnostics"][0]
    # the caret is on the variable inside the template, not on the whole string
    assert (d["code"], d["file"], d["line"], d["column"]) == ("FOC704", "scenario.yaml", 8, 19)
    assert d["hint"] == "did you mean 'profile'?"


def test_validate_sarif_and_junit_and_github() -> None:
    sarif = json.loads(
        focalctl_in_process("validate", "-f", "sarif", ".", cwd=CASES / "FOC301").stdout
    )
    result = sarif["runs"][0]["results"][0]
    assert sarif["version"] == "2.1.0" and result["ruleId"] == "FOC301"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 5
    assert sarif["runs"][0]["tool"]["driver"]["rules"][0]["id"] == "FOC301"
    junit = ET.fromstring(
        focalctl_in_process("validate", "-f", "junit", ".", cwd=CASES / "FOC301").stdout
    )
    assert junit.tag == "testsuite" and junit.attrib["failures"] == "1"
    assert [f.attrib["type"] for f in junit.iter("failure")] == ["FOC301"]
    gh = focalctl_in_process("validate", "-f", "github", ".", cwd=CASES / "FOC301").stdout
    assert gh.startswith("::error file=agent.yaml,line=5,col=14,")


def test_warnings_fail_only_with_strict() -> None:
    assert focalctl_in_process("validate", ".", cwd=CASES / "FOC104").returncode == 0
    assert focalctl_in_process("validate", "--strict", ".", cwd=CASES / "FOC104").returncode == 1


def test_usage_errors_exit_two() -> None:
    assert focalctl("validate", "--format", "yaml").returncode == 2
    assert focalctl("validate", "--no-such-flag").returncode == 2


def test_missing_path_is_a_diagnostic_not_a_crash(tmp_path: Path) -> None:
    proc = focalctl_in_process("validate", str(tmp_path / "nope"))
    assert proc.returncode == 1 and "FOC100" in proc.stdout and "Traceback" not in proc.stderr


BROKEN_CASES = sorted(p.name for p in CASES.iterdir() if p.is_dir())


def _check_broken_case(case: str, run: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    args_file = CASES / case / "args.json"
    extra = json.loads(args_file.read_text()) if args_file.exists() else []
    code = case.split("-")[0]
    verb = "lint" if code.startswith("FOC9") else "validate"  # a lint case is a valid bundle
    proc = run(verb, "-f", "json", ".", *extra, cwd=CASES / case)
    severity = CODES[code].severity
    if case == "FOC902-tenant-lint-settings":
        severity = "error"  # its tenant raises FOC902 to an error
    assert proc.returncode == (1 if severity == "error" else 0) or case == "FOC104"
    assert "Traceback" not in proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["diagnostics"]


@pytest.mark.parametrize("case", BROKEN_CASES)
def test_no_traceback_on_any_broken_case(case: str) -> None:
    """In process: an exception (what the console script reports as an internal error, exit
    70) is raised by focalctl_in_process and fails the test."""
    _check_broken_case(case, focalctl_in_process)


@pytest.mark.parametrize("case", ["FOC302", "FOC902-tenant-lint-settings"])
def test_no_traceback_on_a_broken_case_as_a_real_process(case: str) -> None:
    """The same check through the real entry point (main(): exit status, stdout, stderr)."""
    assert case in BROKEN_CASES
    _check_broken_case(case, focalctl)


def test_runner_validate_and_schema_check() -> None:
    result = runner.invoke(app, ["validate", str(REPO / "agents.d")], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["schema", "--check", "--out", str(REPO / "schemas")])
    assert result.exit_code == 0, "schemas/ is stale: run focalctl schema\n" + result.output


def test_schema_check_detects_stale(tmp_path: Path) -> None:
    assert runner.invoke(app, ["schema", "--out", str(tmp_path)]).exit_code == 0
    (tmp_path / "agent.schema.json").write_text("{}")
    result = runner.invoke(app, ["schema", "--check", "--out", str(tmp_path)])
    assert result.exit_code == 1 and "agent.schema.json" in result.output


def test_init_writes_a_valid_bundle_and_refuses_non_empty(tmp_path: Path) -> None:
    target = tmp_path / "bundle"
    proc = focalctl_in_process("init", str(target))
    assert proc.returncode == 0, proc.stderr
    assert focalctl_in_process("validate", str(target)).returncode == 0
    first = (target / "tenant.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=schemas/tenant.schema.json"
    assert (target / "schemas" / "tenant.schema.json").exists()
    again = focalctl_in_process("init", str(target))
    assert again.returncode == 1 and "not empty" in again.stderr and "Traceback" not in again.stderr


def test_init_writes_a_gitignore_for_state_and_saved_plans(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "b" / ".gitignore").read_text() == ".focal/\n*.plan\n"
    # --force into a directory keeps the lines already there and adds only what is missing.
    other = tmp_path / "c"
    other.mkdir()
    (other / ".gitignore").write_text("node_modules/\n*.plan")
    result = runner.invoke(app, ["init", "--force", str(other)])
    assert result.exit_code == 0, result.output
    assert (other / ".gitignore").read_text() == "node_modules/\n*.plan\n.focal/\n"


def test_examples_have_modelines_that_resolve() -> None:
    examples, demo = sorted(REPO.glob("examples/**/*.yaml")), sorted(REPO.glob("agents.d/*.yaml"))
    assert examples and demo, "no bundle files found: the globs no longer match the layout"
    for path in [*examples, *demo]:
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        target = (path.parent / first.split("=", 1)[1]).resolve()
        assert target.exists(), f"{path}: modeline points at missing {target}"


def _stdout_on_a_terminal(*args: str, cwd: Path, env: Mapping[str, str]) -> str:
    """focalctl's stdout when it is a terminal: a pseudo-terminal that this test reads."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [*FOCALCTL, *args],
            cwd=cwd,
            env=focalctl_env(env, unset=("NO_COLOR",)),
            stdin=subprocess.DEVNULL,
            stdout=slave,
            stderr=subprocess.DEVNULL,
        )
    finally:
        os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if not select.select([master], [], [], 1.0)[0]:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the process has closed the terminal
                break
            if not chunk:
                break
            out += chunk
        proc.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        proc.kill()
        os.close(master)
    return out.decode()


def test_color_only_on_terminals() -> None:
    """Colour follows where stdout goes (NO_COLOR unset in all three runs but the last): a
    terminal gets it, a pipe does not, and NO_COLOR turns it off even on a terminal."""
    cwd, term = CASES / "FOC302", {"TERM": "xterm-256color"}
    piped = focalctl("validate", ".", cwd=cwd, env=term, unset=("NO_COLOR",))
    assert "error[FOC302]" in piped.stdout and "\x1b[" not in piped.stdout
    on_a_terminal = _stdout_on_a_terminal("validate", ".", cwd=cwd, env=term)
    assert "FOC302" in on_a_terminal and "\x1b[" in on_a_terminal
    told_not_to = _stdout_on_a_terminal("validate", ".", cwd=cwd, env={**term, "NO_COLOR": "1"})
    assert "error[FOC302]" in told_not_to and "\x1b[" not in told_not_to
