"""The plan diff: symbols, field changes and the risk notes users must not miss."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from focalctl.compile import compile_paths
from focalctl.plan import diff
from tests.conftest import REPO


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    result = compile_paths([REPO / "examples" / "retail"])
    return result.snapshots["acme"].body


def _steps(body: dict[str, Any], scenario: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = body["scenarios"][scenario]["spec"]["steps"]
    return steps


def _step(body: dict[str, Any], scenario: str, step_id: str) -> dict[str, Any]:
    return next(s for s in _steps(body, scenario) if s["id"] == step_id)


def test_identical_bodies_have_no_changes(base: dict[str, Any]) -> None:
    result = diff(base, copy.deepcopy(base))
    assert not result.has_changes and result.risks == [] and result.counts == (0, 0, 0)


def test_first_plan_creates_everything(base: dict[str, Any]) -> None:
    result = diff(None, base)
    steps = sum(len(e["spec"]["steps"]) for e in base["scenarios"].values())
    sections = sum(
        len(base[s]) for s in ("agents", "channels", "scenarios", "tools", "offerings", "goals")
    )
    assert result.counts == (1 + sections + steps, 0, 0)
    assert {c.symbol for c in result.changes} == {"+"}


def test_a_field_change_is_an_update_with_old_and_new(base: dict[str, Any]) -> None:
    new = copy.deepcopy(base)
    new["tenant"]["spec"]["defaults"]["llm"]["temperature"] = 0.9
    (change,) = diff(base, new).changes
    assert (change.symbol, change.address) == ("~", "Tenant/acme")
    assert [(f.path, f.new) for f in change.fields] == [("defaults.llm.temperature", 0.9)]


def test_a_tool_that_becomes_irreversible_or_loses_confirmation_is_a_risk(
    base: dict[str, Any],
) -> None:
    new = copy.deepcopy(base)
    new["tools"]["lookup-order"]["spec"]["effect"] = "irreversible"
    new["tools"]["issue-refund"]["spec"]["confirmation"] = {"required": False}
    result = diff(base, new)
    assert [c.address for c in result.changes] == [
        "ToolEffect/issue-refund",
        "ToolEffect/lookup-order",
    ]
    assert result.risks == [
        "tool 'issue-refund' no longer requires confirmation",
        "tool 'lookup-order' becomes irreversible (was pure)",
    ]


def test_a_step_renamed_in_place_is_replaced(base: dict[str, Any]) -> None:
    new = copy.deepcopy(base)
    _step(new, "refunds", "wrap_up")["id"] = "finish"
    for step in _steps(new, "refunds"):
        for t in step["transitions"]:
            if t["to"] == "wrap_up":
                t["to"] = "finish"
    result = diff(base, new)
    replaced = [c for c in result.changes if c.symbol == "-/+"]
    assert [(c.address, c.new_address) for c in replaced] == [
        ("Step/refunds/wrap_up", "Step/refunds/finish")
    ]
    assert (
        "step 'wrap_up' of scenario 'refunds' is renamed to 'finish': conversations on it must migrate (declare it in the scenario's moved)"
        in result.risks
    )
    assert result.counts[0] == 1 and result.counts[2] == 1  # one to add, one to delete
    assert result.stranded == [("refunds", "wrap_up")]
    result.live = {("refunds", "wrap_up"): 3214}
    assert result.live_notes()[0] == [
        "3,214 conversation(s) are at step 'wrap_up' of scenario 'refunds', which this plan "
        "removes: they restart the scenario"
    ]


def test_a_rename_declared_in_moved_is_a_move_not_a_risk(base: dict[str, Any]) -> None:
    new = copy.deepcopy(base)
    for step in _steps(new, "refunds"):
        if step["id"] == "wrap_up":
            step["id"] = "finish"
        for t in step.get("transitions", []):
            if t["to"] == "wrap_up":
                t["to"] = "finish"
    new["scenarios"]["refunds"]["spec"]["moved"] = [{"from": "wrap_up", "to": "finish"}]
    result = diff(base, new)
    assert not any("wrap_up" in r for r in result.risks)
    assert result.moved == [("refunds", "wrap_up", "finish")] and result.stranded == []
    result.live = {("refunds", "wrap_up"): 12}
    assert result.live_notes() == (
        [],
        [
            "step 'wrap_up' of scenario 'refunds' is now 'finish': conversations on it "
            "continue there (12 live conversation(s))"
        ],
    )


def test_removing_a_checkpoint_step_or_its_checkpoint_is_a_risk(base: dict[str, Any]) -> None:
    removed = copy.deepcopy(base)
    removed["scenarios"]["refunds"]["spec"]["steps"] = [
        s for s in _steps(removed, "refunds") if s["id"] != "give_credit"
    ]
    assert diff(base, removed).risks[:2] == [
        "step 'give_credit' of scenario 'refunds' is removed: conversations on it must migrate",
        "checkpoint 'give_credit' of scenario 'refunds' is removed",
    ]
    unmarked = copy.deepcopy(base)
    del _step(unmarked, "refunds", "confirm_refund")["checkpoint"]
    result = diff(base, unmarked)
    assert result.risks == [
        "checkpoint 'confirm_refund' of scenario 'refunds' is removed: the step is no longer a point of no return"
    ]
    result.live = {("refunds", "confirm_refund"): 41}
    assert result.live_notes()[0] == [
        "41 conversation(s) are at checkpoint 'confirm_refund' of scenario 'refunds', which "
        "this plan removes"
    ]


def test_a_channel_that_loses_outbound_is_a_risk(base: dict[str, Any]) -> None:
    new = copy.deepcopy(base)
    new["channels"]["sms-main"]["spec"]["capabilities"]["outbound"] = False
    assert diff(base, new).risks == ["channel 'sms-main' can no longer send outbound messages"]


def test_created_and_deleted_objects(base: dict[str, Any]) -> None:
    new = copy.deepcopy(base)
    gone = sorted(new["offerings"])[0]
    del new["offerings"][gone]
    new["offerings"]["brand-new"] = copy.deepcopy(base["offerings"][gone])
    result = diff(base, new)
    assert sorted((c.symbol, c.address) for c in result.changes) == [
        ("+", "Offering/brand-new"),
        ("-", f"Offering/{gone}"),
    ]
    assert result.counts == (1, 0, 1)


def _update(base: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str, Any, Any]]:
    """The one update's fields as (action, path, old, new)."""
    (change,) = diff(base, new).changes
    assert change.action == "update"
    return [(f.action, f.path, f.old, f.new) for f in change.fields]


def test_a_transition_is_diffed_by_its_target_not_as_a_whole_list(base: dict[str, Any]) -> None:
    new = copy.deepcopy(base)
    check = _step(new, "refunds", "check_order")
    check["transitions"][1]["priority"] = 7
    assert _update(base, new) == [("update", "transitions[to=confirm_refund].priority", 0, 7)]


def test_added_removed_and_reordered_transitions(base: dict[str, Any]) -> None:
    new = copy.deepcopy(base)
    check = _step(new, "refunds", "check_order")
    gone = check["transitions"].pop(0)  # offer_credit
    added = {"to": "wrap_up", "when": "slots.done", "priority": 1}
    check["transitions"] = [*reversed(check["transitions"]), added]
    assert _update(base, new) == [
        ("delete", "transitions[to=offer_credit]", gone, None),
        ("create", "transitions[to=wrap_up]", None, added),
        (
            "reorder",
            "transitions",
            ["to=confirm_refund", "to=not_eligible"],
            ["to=not_eligible", "to=confirm_refund"],
        ),
    ]


def test_a_second_transition_to_the_same_step_is_numbered(base: dict[str, Any]) -> None:
    new = copy.deepcopy(base)
    wrap = _step(new, "refunds", "give_credit")["transitions"]
    wrap.append({**wrap[0], "when": "slots.other"})
    assert [p for _, p, _, _ in _update(base, new)] == ["transitions[to=wrap_up#2]"]


def test_tool_bindings_are_keyed_by_tool_and_other_lists_by_position(
    base: dict[str, Any],
) -> None:
    new = copy.deepcopy(base)
    _step(new, "refunds", "confirm_refund")["tools"][0]["at"] = "after"
    new["agents"]["support"]["spec"]["channels"][1] = "sms-other"
    new["agents"]["support"]["spec"]["tools"].append("brand-new-tool")
    result = diff(base, new)
    fields = {c.address: [(f.action, f.path) for f in c.fields] for c in result.changes}
    assert fields["Step/refunds/confirm_refund"] == [("update", "tools[tool=issue-refund].at")]
    assert fields["Agent/support"] == [
        ("update", "channels[1]"),
        ("create", "tools[tool=brand-new-tool]"),
    ]


def test_a_create_carries_the_new_objects_attributes(base: dict[str, Any]) -> None:
    new = copy.deepcopy(base)
    new["offerings"]["brand-new"] = copy.deepcopy(next(iter(base["offerings"].values())))
    (change,) = diff(base, new).changes
    spec = new["offerings"]["brand-new"]["spec"]
    assert change.action == "create" and change.attributes is not None
    assert {k: change.attributes[k] for k in spec} == spec and "spec" not in change.attributes
    steps = diff(None, base).changes
    step = next(c for c in steps if c.address == "Step/refunds/wrap_up")
    assert step.attributes is not None and "_position" not in step.attributes
