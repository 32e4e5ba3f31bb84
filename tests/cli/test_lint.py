"""focalctl lint as users run it: clean examples, findings in every format, --strict, a
bundle that does not validate."""

from __future__ import annotations

import json

from .test_authoring import REPO, focalctl


def test_the_examples_and_the_default_bundle_lint_clean() -> None:
    for bundle in ("examples/retail", "examples/clinic", "agents.d"):
        proc = focalctl("lint", bundle)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "lint found nothing" in proc.stdout


def test_findings_in_json_and_sarif_and_strict() -> None:
    case = str(REPO / "tests" / "cases" / "FOC901")
    proc = focalctl("lint", case, "-f", "json")
    assert proc.returncode == 0, proc.stderr  # warnings only
    [finding] = json.loads(proc.stdout)["diagnostics"]
    assert finding["code"] == "FOC901" and finding["severity"] == "warning"
    sarif = json.loads(focalctl("lint", case, "-f", "sarif").stdout)
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["FOC901"]
    assert focalctl("lint", case, "--strict").returncode == 1


def test_a_bundle_that_does_not_validate_is_reported_not_linted() -> None:
    proc = focalctl("lint", str(REPO / "tests" / "cases" / "FOC301"))
    assert proc.returncode == 1 and "FOC301" in proc.stdout
