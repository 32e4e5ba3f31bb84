"""suggest --edge-cases: simulations derived from a bundle's own, for its risky paths. They pass
on the example as written and each fails on a copy with the matching defect planted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, focalctl_in_process


@pytest.fixture(scope="module")
def suggested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("suggested")
    proc = focalctl_in_process("suggest", "examples/retail", "--edge-cases", "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def _run(bundle: Path | str, tests: Path) -> dict[str, dict[str, object]]:
    proc = focalctl_in_process(
        "simulate", str(bundle), "--tests", str(tests), "-k", "edge-", "-f", "json"
    )
    assert proc.returncode in (0, 1), proc.stderr
    return {s["name"]: s for s in json.loads(proc.stdout)["simulations"]}


def test_the_edge_cases_of_the_retail_example(suggested: Path) -> None:
    names = sorted(p.stem.removeprefix("acme-") for p in suggested.glob("*.yaml"))
    assert names == [
        "edge-burst-issue-refund",
        "edge-decline-issue-refund",
        "edge-duplicate-at-confirm-refund",
        "edge-duplicate-at-give-credit",
        "edge-fallback-refund-feedback-wa-main",
        "edge-follow-up-refund-feedback-unanswered",
    ]
    results = _run("examples/retail", suggested)
    assert all(r["passed"] for r in results.values()), results


def _planted(tmp: Path, file: str, old: str, new: str) -> Path:
    bundle = tmp / "retail"
    shutil.copytree(REPO / "examples" / "retail", bundle)
    path = bundle / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return bundle


@pytest.mark.parametrize(
    ("defect", "file", "old", "new", "caught_by"),
    [
        (
            "WhatsApp no longer folds bursts",
            "channels/profiles.yaml",
            "turn: {debounce: 1500ms, maxBurst: 6}",
            "turn: {debounce: 1500ms, maxBurst: 1}",
            "edge-burst-issue-refund",
        ),
        (
            "the follow-up's fallback skips SMS",
            "channels/profiles.yaml",
            "fallback: [sms-main, email-main]",
            "fallback: [email-main, sms-main]",
            "edge-fallback-refund-feedback-wa-main",
        ),
        (
            "the follow-up goes to a channel that cannot send",
            "goals/refund-feedback.yaml",
            "channels: [wa-main, sms-main]",
            "channels: [web-chat]",
            "edge-follow-up-refund-feedback-unanswered",
        ),
    ],
)
def test_each_edge_case_catches_its_planted_defect(
    suggested: Path, tmp_path: Path, defect: str, file: str, old: str, new: str, caught_by: str
) -> None:
    results = _run(_planted(tmp_path, file, old, new), suggested)
    assert not results[caught_by]["passed"], (defect, results[caught_by])


def test_suggest_needs_simulations_to_start_from(tmp_path: Path) -> None:
    bundle = tmp_path / "demo"
    shutil.copytree(REPO / "agents.d", bundle)
    proc = focalctl_in_process(
        "suggest", str(bundle), "--edge-cases", "--out", str(tmp_path / "out")
    )
    assert proc.returncode == 1 and "no Simulation documents" in proc.stderr
    assert focalctl_in_process("suggest", str(bundle)).returncode == 2


def test_writing_suggestions_leaves_the_shared_yaml_representer_alone(tmp_path: Path) -> None:
    """`fmt` later in the same process must not quote every string (suggest's own string
    style is local to its writer)."""
    import io

    from ruamel.yaml import YAML
    from ruamel.yaml.representer import RoundTripRepresenter

    from focalctl.suggest import Suggestion, write

    before = RoundTripRepresenter.yaml_representers.get(str)
    doc = {"kind": "Simulation", "spec": {"say": "hello", "at": "10:30"}}
    [path] = write([Suggestion("acme", "edge", "src", "why", doc)], tmp_path)
    text = path.read_text()
    assert "say: hello" in text and 'at: "10:30"' in text
    assert RoundTripRepresenter.yaml_representers.get(str) is before
    out = io.StringIO()
    YAML().dump({"say": "hello"}, out)
    assert out.getvalue() == "say: hello\n"
