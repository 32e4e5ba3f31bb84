"""The text view of a plan: one line per changed element, never truncated, creates with their
attributes (names only with compact), user strings printed literally; the JSON says the same."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from rich.console import Console

from focalctl.compile import compile_paths
from focalctl.plan import PlanResult, diff
from focalctl.plan.render import render_result, result_json
from tests.conftest import REPO


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    return compile_paths([REPO / "examples" / "retail"]).snapshots["acme"].body


def _text(result: PlanResult, *, compact: bool = False) -> str:
    console = Console(record=True, width=200, color_system=None)
    render_result(console, result, compact=compact)
    return console.export_text()


def _step(body: dict[str, Any], step_id: str) -> dict[str, Any]:
    steps: list[dict[str, Any]] = body["scenarios"]["refunds"]["spec"]["steps"]
    return next(s for s in steps if s["id"] == step_id)


def test_a_changed_transition_is_one_readable_line(base: dict[str, Any]) -> None:
    new = copy.deepcopy(base)
    check = _step(new, "check_order")
    check["transitions"][1]["priority"] = 7
    added = {"to": "wrap_up", "when": "slots.done", "priority": 1}
    check["transitions"].append(added)
    text = _text(diff(base, new))
    assert "~ transitions[to=confirm_refund].priority: 0 → 7" in text
    assert "+ transitions[to=wrap_up]:\n" in text
    assert '            when: "slots.done"\n' in text
    assert "…" not in text and "..." not in text and '[{"' not in text


def test_long_values_are_never_truncated(base: dict[str, Any]) -> None:
    new = copy.deepcopy(base)
    long = "x" * 150 + " [bold]not markup[/]"
    _step(new, "wrap_up")["say"] = long
    text = _text(diff(base, new))
    assert "~ say:" in text and f'+ "{long}"' in text.replace("\n", "")
    assert "…" not in text


def test_a_create_lists_its_attributes_and_compact_names_only(base: dict[str, Any]) -> None:
    new = copy.deepcopy(base)
    offering = copy.deepcopy(next(iter(base["offerings"].values())))
    offering["spec"]["displayName"] = "[red]Deal[/] of the day"
    new["offerings"]["brand-new"] = offering
    result = diff(base, new)
    full = _text(result)
    assert "  + Offering/brand-new\n" in full
    assert '        displayName: "[red]Deal[/] of the day"\n' in full
    compact = _text(result, compact=True)
    assert "displayName" not in compact and "+ Offering/brand-new" in compact
    (change,) = result_json(result)["changes"]
    assert change["attributes"]["displayName"] == "[red]Deal[/] of the day"


def test_the_json_has_the_paths_and_actions_of_the_text(base: dict[str, Any]) -> None:
    new = copy.deepcopy(base)
    check = _step(new, "check_order")
    check["transitions"] = list(reversed(check["transitions"]))
    result = diff(base, new)
    (change,) = result_json(result)["changes"]
    (field,) = change["fields"]
    assert field["action"] == "reorder" and field["path"] == "transitions"
    assert change["attributes"] is None
    text = _text(result)
    assert (
        "~ transitions (order): to=offer_credit, to=confirm_refund, to=not_eligible → "
        "to=not_eligible, to=confirm_refund, to=offer_credit" in text
    )
