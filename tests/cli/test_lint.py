"""focalctl lint as users run it: clean examples, findings in every format, --strict, a
bundle that does not validate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import REPO, focalctl_in_process


def test_the_examples_and_the_default_bundle_lint_clean() -> None:
    for bundle in ("examples/retail", "examples/clinic", "agents.d"):
        proc = focalctl_in_process("lint", bundle)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "lint found nothing" in proc.stdout


def test_findings_in_json_and_sarif_and_strict() -> None:
    case = str(REPO / "tests" / "cases" / "FOC901")
    proc = focalctl_in_process("lint", case, "-f", "json")
    assert proc.returncode == 0, proc.stderr  # warnings only
    [finding] = json.loads(proc.stdout)["diagnostics"]
    assert finding["code"] == "FOC901" and finding["severity"] == "warning"
    sarif = json.loads(focalctl_in_process("lint", case, "-f", "sarif").stdout)
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["FOC901"]
    assert focalctl_in_process("lint", case, "--strict").returncode == 1


def test_a_bundle_that_does_not_validate_is_reported_not_linted() -> None:
    proc = focalctl_in_process("lint", str(REPO / "tests" / "cases" / "FOC301"))
    assert proc.returncode == 1 and "FOC301" in proc.stdout


def test_a_tenants_lint_settings_change_severity_or_turn_a_rule_off() -> None:
    case = str(REPO / "tests" / "cases" / "FOC902-tenant-lint-settings")
    proc = focalctl_in_process("lint", case, "-f", "json")
    assert proc.returncode == 1, proc.stdout  # FOC902 raised to an error
    [finding] = json.loads(proc.stdout)["diagnostics"]
    assert (finding["code"], finding["severity"]) == ("FOC902", "error")  # FOC903 is off
    compiled = focalctl_in_process("validate", case)
    assert compiled.returncode == 0, compiled.stdout


def test_a_lint_setting_needs_a_reason_and_a_lint_code(tmp_path: Path) -> None:
    case = tmp_path / "case"
    shutil.copytree(REPO / "tests" / "cases" / "FOC902-tenant-lint-settings", case)
    tenant = case / "tenant.yaml"
    tenant.write_text(
        tenant.read_text()
        .replace(
            '{severity: error, reason: "every follow-up must survive a channel outage"}',
            "{severity: error}",
        )
        .replace("FOC903:", "FOC303:")
    )
    proc = focalctl_in_process("validate", str(case))
    assert proc.returncode == 1
    assert "reason" in proc.stdout and "FOC303" in proc.stdout
