"""Goals: timing relative to a slot, cancellation, business hours, the `when` condition."""

from __future__ import annotations

from pathlib import Path

from .bundles import AGENT, TENANT, doc, found, scenario, write

STEPS = (
    "    - id: start\n      say: Hi\n      collects: [reason, {name: visit_at, type: datetime}]\n"
    "      transitions: [{to: end}]\n    - id: end\n      say: Bye\n      terminal: true\n"
)
AGENT_G = AGENT + "  goals: [remind]\n"


def goal(body: str) -> str:
    head = "  agent: bot\n  trigger: {scenario: flow, reachedStep: end}\n  action: reminder\n"
    return doc("Goal", "remind", head + body + '  message: "See you"\n')


def run(tmp_path: Path, body: str, tenant: str = TENANT) -> set[tuple[str, str, str]]:
    files = {"agent": AGENT_G, "scenario": scenario(STEPS), "goal": goal(body), "tenant": tenant}
    return found(write(tmp_path, **files))


def test_a_goal_due_a_day_before_a_datetime_slot_is_fine(tmp_path: Path) -> None:
    body = (
        "  relativeTo: {slot: visit_at, offset: -24h}\n"
        "  cancelWhen: [{scenario: flow, reachedStep: start}]\n"
        '  when: "slots.reason"\n'
    )
    assert run(tmp_path, body) == set()


def test_timing_mistakes(tmp_path: Path) -> None:
    assert run(tmp_path, "  relativeTo: {slot: reason}\n") == {
        ("FOC212", "goal.yaml", "/spec/relativeTo/slot")
    }
    assert run(tmp_path, "  relativeTo: {slot: visit}\n") == {
        ("FOC308", "goal.yaml", "/spec/relativeTo/slot")
    }
    assert run(tmp_path, "  after: 1h\n  relativeTo: {slot: visit_at}\n") == {
        ("FOC213", "goal.yaml", "/spec/after")
    }
    assert run(tmp_path, "  relativeTo: {slot: visit_at, offset: -1x}\n") == {
        ("FOC207", "goal.yaml", "/spec/relativeTo/offset")
    }


def test_business_hours_are_needed_to_wait_for_them(tmp_path: Path) -> None:
    assert run(tmp_path, "  withinBusinessHours: true\n") == {
        ("FOC309", "goal.yaml", "/spec/withinBusinessHours")
    }
    open_tenant = TENANT.replace(
        "spec: {channels: [webchat, sms]}",
        "spec:\n  channels: [webchat, sms]\n  businessHours:\n    timezone: Europe/Paris\n"
        '    weekly: {mon: ["09:00-17:00"]}\n',
    )
    assert run(tmp_path, "  withinBusinessHours: true\n", open_tenant) == set()


def test_the_when_condition_is_an_expression(tmp_path: Path) -> None:
    assert run(tmp_path, '  when: "reason == 1"\n') == {("FOC704", "goal.yaml", "/spec/when")}
