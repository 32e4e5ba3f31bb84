"""focalctl simulate: the example simulations pass through the real runtime; a broken
expectation fails with its file:line and a transcript; formats, --out, --tests, -k, exit codes."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from focalctl.cli.main import app
from focalctl.simulate import run_suite
from tests.conftest import REPO, focalctl_in_process

RETAIL = REPO / "examples" / "retail"


def test_every_example_simulation_passes() -> None:
    proc = focalctl_in_process("simulate", "examples/retail", "-f", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["failed"] == 0 and doc["passed"] >= 10
    names = {s["name"] for s in doc["simulations"]}
    assert {
        "refund-burst-during-confirmation",
        "refund-duplicate-delivery-at-the-checkpoint",
    } <= names


@pytest.fixture
def retail(tmp_path: Path) -> Path:
    shutil.copytree(RETAIL, tmp_path / "retail")
    return tmp_path / "retail"


def _break(bundle: Path, old: str, new: str) -> None:
    path = bundle / "simulations" / "refunds.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_an_unmet_expectation_fails_with_its_position_and_the_transcript(retail: Path) -> None:
    _break(
        retail,
        "expect: {status: duplicate, tool_not_called",
        "expect: {status: processed, tool_not_called",
    )
    proc = focalctl_in_process("simulate", str(retail), "-k", "duplicate-delivery")
    assert proc.returncode == 1
    lines = (REPO / retail / "simulations" / "refunds.yaml").read_text().splitlines()
    row = next(i for i, line in enumerate(lines, 1) if "status: processed" in line)
    assert f"refunds.yaml:{row}:" in proc.stdout
    assert "expected status \"processed\": status was 'duplicate'" in proc.stdout
    assert "delivered again" in proc.stdout and "issue-refund" in proc.stdout  # transcript
    assert "0 passed, 1 failed" in proc.stdout


def test_behaviour_that_changes_fails_the_simulation_that_covers_it(retail: Path) -> None:
    """The point of simulate: a bundle edit that would refund without asking is caught."""
    tools = retail / "tools" / "orders.yaml"
    text = tools.read_text()
    tools.write_text(
        text.replace("  effect: irreversible\n", "  effect: idempotent\n", 1).replace(
            "  confirmation:\n    required: true\n", "  confirmation:\n    required: false\n", 1
        )
    )
    proc = focalctl_in_process("simulate", str(retail), "-f", "json")
    assert proc.returncode == 1, proc.stdout
    failed = {
        s["name"]: s["failure"] for s in json.loads(proc.stdout)["simulations"] if not s["passed"]
    }
    # the refund now runs before anyone says yes: without a stub in the declined one, and
    # in the first turn of the happy path instead of the second
    assert failed["refund-declined"]["key"] == "stubs"
    assert failed["refund-happy-path"]["key"] in ("step", "reply_contains", "tool_not_called")


def test_a_tool_without_a_stub_fails_with_a_clear_message(retail: Path) -> None:
    _break(
        retail,
        '    - tool: issue-refund\n      result: {refund_id: R-9}\n  script:\n    - user: "refund O-1"\n      intent: refund\n      slots: {order_id: O-1}\n    - burst',
        '  script:\n    - user: "refund O-1"\n      intent: refund\n      slots: {order_id: O-1}\n    - burst',
    )
    proc = focalctl_in_process("simulate", str(retail), "-k", "burst-during", "-f", "json")
    assert proc.returncode == 1
    failure = json.loads(proc.stdout)["simulations"][0]["failure"]
    assert failure["key"] == "stubs"
    assert "tool 'issue-refund' was called" in failure["message"]
    assert "never calls a real tool" in failure["message"]


def test_junit_and_out_dir(retail: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = focalctl_in_process(
        "simulate", str(retail), "-f", "junit", "--out", str(out), "-k", "order-status"
    )
    assert proc.returncode == 0, proc.stderr
    suite = ET.fromstring(proc.stdout)
    assert suite.get("tests") == "2" and suite.get("failures") == "0"
    assert json.loads((out / "results.json").read_text())["passed"] == 2
    assert ET.parse(out / "junit.xml").getroot().get("tests") == "2"
    transcript = (out / "acme" / "order-status-happy-path.txt").read_text()
    assert "Order O-1234 is shipped, expected Thursday." in transcript


def test_simulations_kept_outside_the_bundle_with_tests(retail: Path, tmp_path: Path) -> None:
    tests = tmp_path / "sims"
    shutil.move(str(retail / "simulations"), tests)
    assert focalctl_in_process("simulate", str(retail)).returncode == 2  # nothing to run
    proc = focalctl_in_process(
        "simulate", str(retail), "--tests", str(tests), "-k", "acme/refund-d*"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed, 0 failed (17 deselected)" in proc.stdout


def test_an_invalid_simulation_is_a_positioned_validation_error(retail: Path) -> None:
    _break(retail, "        step: not_eligible\n", "        step: not_elegible\n")
    proc = focalctl_in_process("simulate", str(retail))
    assert proc.returncode == 1
    assert (
        "unknown step 'not_elegible'" in proc.stderr
        and "did you mean 'not_eligible'" in proc.stderr
    )
    assert "the bundle does not validate" in proc.stderr


def test_usage_errors_exit_2() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["simulate", "no/such/dir"])
    assert result.exit_code == 2 and "does not exist" in result.output
    result = runner.invoke(app, ["simulate", str(RETAIL), "-f", "xml"])
    assert result.exit_code == 2


def test_a_simulation_audits_to_the_simulated_stream_only() -> None:
    suite = run_suite([RETAIL], "refund-happy-path")
    assert [r.passed for r in suite.results] == [True]
    audit = suite.results[0].audit
    assert audit["live"] == 0 and audit["simulated"] >= 6, audit


def test_agenda_expectations_fail_when_the_follow_up_goes_elsewhere(retail: Path) -> None:
    sims = retail / "simulations" / "follow-ups.yaml"
    text = sims.read_text()
    sims.write_text(
        text.replace("delivered: {channel: sms-main, parts: 1}", "delivered: {channel: wa-main}")
    )
    proc = focalctl_in_process("simulate", str(retail), "-k", "falls-back-to-sms", "-f", "json")
    assert proc.returncode == 1, proc.stdout
    [sim] = json.loads(proc.stdout)["simulations"]
    assert sim["failure"]["key"] == "delivered"
    assert "this event delivered sms-main (1 part(s))" in sim["failure"]["message"]
    assert any("[sms-main] Hi Ana" in line["text"] for line in sim["transcript"])
