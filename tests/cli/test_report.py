"""focalctl report: the numbers over the example simulations' audit stream, checked against
counts computed here independently; anomalies over synthetic days; the state as a source."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from focalctl.report import build
from runtime.ports import AuditEvent, open_state
from tests.conftest import focalctl_in_process


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sims")
    proc = focalctl_in_process("simulate", "examples/retail", "--out", str(out))
    assert proc.returncode == 0, proc.stdout
    return out / "audit.jsonl"


def test_the_report_matches_counts_taken_from_the_raw_events(audit: Path) -> None:
    events = [json.loads(line) for line in audit.read_text().splitlines()]
    proc = focalctl_in_process("report", "--audit", str(audit), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["events"] == len(events)
    calls = Counter(e["data"]["tool"] for e in events if e["kind"] == "tool.call")
    assert {t: c.get("calls", 0) for t, c in doc["tools"].items()} == dict(calls)
    errors = sum(1 for e in events if e["kind"] == "tool.error")
    assert sum(c.get("failed", 0) for c in doc["tools"].values()) == errors == 1
    entered = {
        (e["data"]["scenario"], e["data"]["step"], e["conversation"])
        for e in events
        if e["kind"] == "step.entered"
    }
    confirm = {c for s, st, c in entered if (s, st) == ("refunds", "confirm_refund")}
    funnel = dict((f["step"], f["conversations"]) for f in doc["funnels"]["refunds"])
    assert funnel["confirm_refund"] == len(confirm) and doc["funnels"]["refunds"][0]["step"] == (
        "collect_order"
    )
    turns = {
        e["turn"]
        for e in events
        if e["kind"] == "step.entered" and e["data"]["scenario"] == "refunds"
    }
    assert doc["turns_per_scenario"]["refunds"] == len(turns)
    assert doc["duplicates_dropped"] == sum(1 for e in events if e["kind"] == "turn.duplicate")
    assert doc["follow_ups"]["sent"] == sum(1 for e in events if e["kind"] == "agenda.sent")
    failed_hops = sum(
        1
        for e in events
        if e["kind"].startswith("agenda.")
        for h in e["data"].get("hops") or []
        if h["result"] == "failed" and h["profile"] == "wa-main"
    )
    assert doc["fallbacks"] == {"wa-main": failed_hops} and failed_hops == 1
    text = focalctl_in_process("report", "--audit", str(audit))
    assert "Funnel: refunds" in text.stdout and "Duplicates dropped:" in text.stdout


def _day(n: int, calls: int, failed: int) -> list[dict[str, object]]:
    at = (datetime(2026, 3, 1, 12, tzinfo=UTC) + timedelta(days=n)).isoformat()
    out = []
    for i in range(calls):
        out.append({"tenant": "t", "kind": "tool.call", "at": at, "data": {"tool": "pay"}})
        kind = "tool.error" if i < failed else "tool.result"
        out.append({"tenant": "t", "kind": kind, "at": at, "data": {"tool": "pay"}})
    return out


def test_a_tool_failure_rate_beyond_three_sigma_is_flagged() -> None:
    days = [e for n in range(14) for e in _day(n, 50, 1 + n % 2)]  # 2-4 % failures
    quiet = build(days)
    assert quiet.anomalies == []
    spike = build([*days, *_day(14, 50, 20)])  # 40 % on day 15
    [anomaly] = spike.anomalies
    assert (anomaly.day, anomaly.metric, anomaly.subject) == (
        "2026-03-15",
        "tool failure rate",
        "pay",
    )
    assert anomaly.value == 0.4 and anomaly.mean == pytest.approx(0.03, abs=0.001)
    assert build([*days, *_day(14, 50, 20)], since=datetime(2026, 3, 10).date()).anomalies == []


def test_names_from_the_audit_stream_cannot_write_html() -> None:
    """An audit file is input: a scenario or step name in it is text in the HTML report, never
    markup (the section ids were written raw; plotly escapes its own JSON)."""
    from focalctl.report import Report, html

    report = Report()
    report.funnels = {'x"></section><script>alert(1)</script>': [("<b>step</b>", 3)]}
    page = html(report)
    assert "<script>alert(1)" not in page and "<b>step</b>" not in page
    assert 'id="funnel-x&quot;&gt;&lt;/section&gt;&lt;script&gt;' in page


def test_the_state_is_a_source_too(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    state = open_state(url)
    at = datetime(2026, 3, 2, 10, tzinfo=UTC)
    state.append_many(
        [AuditEvent("acme", "turn.duplicate", at), AuditEvent("acme", "turn.rate_limited", at)]
    )
    state.close()
    proc = focalctl_in_process("report", "--state", url, "--tenant", "acme", "--json")
    doc = json.loads(proc.stdout)
    assert (doc["duplicates_dropped"], doc["rate_limited"]) == (1, 1)
    assert focalctl_in_process("report", "--state", url).returncode == 2  # --tenant is needed
    assert focalctl_in_process("report").returncode == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "x", "at": "2026-03-02T10:00:00+00:00"}\nnot json\n')
    proc = focalctl_in_process("report", "--audit", str(bad))
    assert proc.returncode == 1 and "bad.jsonl:2: not JSON" in proc.stderr


def test_the_html_report_renders_in_headless_chromium(audit: Path, tmp_path: Path) -> None:
    import os
    import shutil
    import subprocess

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        reason = "chromium is not installed (Debian: apt-get install chromium; .ci/run does)"
        if os.environ.get("FOCAL_REQUIRE_SERVICES") == "1":
            pytest.fail(f"FOCAL_REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)
    page = tmp_path / "report.html"
    proc = focalctl_in_process("report", "--audit", str(audit), "--html", str(page))
    assert proc.returncode == 0, proc.stderr
    html = page.read_text()
    assert "cdn" not in html.lower().split("<body>")[0], "plotly.js is inlined: it opens offline"
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0"]
    dom = subprocess.run(
        [chromium, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    )
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    assert not [line for line in console if "Uncaught" in line or "Error" in line], console
    charts = dom.stdout.count('class="main-svg"')
    assert charts >= 2 * 5, f"{charts} plotly layers rendered"  # 5 figures, 2+ layers each
    shot = tmp_path / "report.png"
    subprocess.run(
        [chromium, *flags, f"--screenshot={shot}", "--window-size=1200,2000", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 10_000
