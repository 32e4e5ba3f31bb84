"""Invariant 7: side-effect safety of tools and of the steps that bind them."""

from __future__ import annotations

from pathlib import Path

from .bundles import AGENT, TOOL, diagnostics, doc, found, scenario, write

T = "tool.yaml"
S = "scenario.yaml"
REFUND = (
    "  effect: irreversible\n"
    "  confirmation: {required: true, prompt: 'Refund it?'}\n"
    "  idempotencyKey: [id]\n"
    "  parameters: {type: object, required: [id], properties: {id: {type: string}}}\n"
)
TOOLS = TOOL + "---\n" + doc("ToolEffect", "refund", REFUND)
AGENT2 = AGENT.replace("[lookup]", "[lookup, refund]")


def tools(tmp_path: Path, extra: str) -> set[tuple[str, str, str]]:
    return found(write(tmp_path, tool=TOOL + "---\n" + extra))


def test_compensatable_needs_a_compensation(tmp_path: Path) -> None:
    bad = doc("ToolEffect", "charge", "  effect: compensatable\n")
    assert tools(tmp_path, bad) == {("FOC503", T, "/spec/effect")}


def test_compensation_must_not_be_irreversible(tmp_path: Path) -> None:
    charge = doc("ToolEffect", "charge", "  effect: compensatable\n  compensation: refund\n")
    assert tools(tmp_path, charge + "---\n" + doc("ToolEffect", "refund", REFUND)) == {
        ("FOC504", T, "/spec/compensation")
    }
    ok = charge.replace("refund", "lookup")
    assert tools(tmp_path, ok) == set()


def test_irreversible_needs_confirmation_and_idempotency_key(tmp_path: Path) -> None:
    bare = doc("ToolEffect", "refund", "  effect: irreversible\n")
    assert tools(tmp_path, bare) == {("FOC505", T, "/spec/effect"), ("FOC506", T, "/spec/effect")}
    assert tools(tmp_path, doc("ToolEffect", "refund", REFUND)) == set()


def test_irreversible_confirmation_needs_a_prompt(tmp_path: Path) -> None:
    """Required but with nothing to ask (missing or blank prompt): every binding of the tool
    would run without the customer being asked."""
    for confirmation in ("{required: true}", "{required: true, prompt: ' '}"):
        bad = REFUND.replace("{required: true, prompt: 'Refund it?'}", confirmation)
        assert tools(tmp_path, doc("ToolEffect", "refund", bad)) == {
            ("FOC511", T, "/spec/confirmation/required")
        }


def test_idempotency_key_fields_must_be_parameters(tmp_path: Path) -> None:
    bad = doc(
        "ToolEffect", "refund", REFUND.replace("idempotencyKey: [id]", "idempotencyKey: [id, ordr]")
    )
    assert tools(tmp_path, bad) == {("FOC507", T, "/spec/idempotencyKey/1")}


def test_irreversible_binding_before_any_checkpoint(tmp_path: Path) -> None:
    steps = (
        '    - {id: start, tools: [{tool: refund, args: {id: "1"}}], transitions: [{to: end}]}\n'
        "    - {id: end, terminal: true}\n"
    )
    root = write(tmp_path, tool=TOOLS, agent=AGENT2, scenario=scenario(steps))
    assert found(root) == {("FOC508", S, "/spec/steps/0/tools/0/tool")}


def test_irreversible_binding_in_or_after_a_checkpoint_is_fine(tmp_path: Path) -> None:
    in_checkpoint = (
        "    - id: start\n"
        "      checkpoint: {description: refunded}\n"
        '      tools: [{tool: refund, args: {id: "1"}}]\n'
        "      transitions: [{to: end}]\n"
        "    - {id: end, terminal: true}\n"
    )
    root = write(tmp_path, tool=TOOLS, agent=AGENT2, scenario=scenario(in_checkpoint))
    assert found(root) == set()
    after = (
        "    - {id: start, checkpoint: {description: agreed}, transitions: [{to: end}]}\n"
        '    - {id: end, terminal: true, tools: [{tool: refund, args: {id: "1"}}]}\n'
    )
    assert found(write(tmp_path, tool=TOOLS, agent=AGENT2, scenario=scenario(after))) == set()


def test_a_checkpoint_on_only_one_path_does_not_guard(tmp_path: Path) -> None:
    steps = (
        '    - {id: start, transitions: [{to: agree, when: "turn.x"}, {to: pay}]}\n'
        "    - {id: agree, checkpoint: {description: agreed}, transitions: [{to: pay}]}\n"
        '    - {id: pay, terminal: true, tools: [{tool: refund, args: {id: "1"}}]}\n'
    )
    root = write(tmp_path, tool=TOOLS, agent=AGENT2, scenario=scenario(steps))
    assert found(root) == {("FOC508", S, "/spec/steps/2/tools/0/tool")}


def test_unreachable_step_gets_foc402_not_foc508(tmp_path: Path) -> None:
    steps = (
        "    - {id: start, terminal: true}\n"
        '    - {id: lost, terminal: true, tools: [{tool: refund, args: {id: "1"}}]}\n'
    )
    root = write(tmp_path, tool=TOOLS, agent=AGENT2, scenario=scenario(steps))
    assert found(root) == {("FOC402", S, "/spec/steps/1/id")}


def test_binding_args_unknown_and_missing_required(tmp_path: Path) -> None:
    steps = (
        "    - id: start\n"
        "      checkpoint: {description: refunded}\n"
        '      tools: [{tool: refund, args: {idd: "1"}}]\n'
        "      terminal: true\n"
    )
    root = write(tmp_path, tool=TOOLS, agent=AGENT2, scenario=scenario(steps))
    assert found(root) == {
        ("FOC509", S, "/spec/steps/0/tools/0/args/idd"),
        ("FOC509", S, "/spec/steps/0/tools/0/tool"),
    }
    by_pointer = {d.pointer: d for d in diagnostics(root)}
    assert by_pointer["/spec/steps/0/tools/0/args/idd"].hint == "did you mean 'id'?"
    assert "required parameter id not given" in by_pointer["/spec/steps/0/tools/0/tool"].message


def test_args_to_a_tool_without_parameters_are_unknown_unless_schema_allows_extras(
    tmp_path: Path,
) -> None:
    steps = '    - {id: start, terminal: true, tools: [{tool: ping, args: {x: "1"}}]}\n'
    ping = doc("ToolEffect", "ping", "  effect: pure\n")
    agent = AGENT.replace("[lookup]", "[lookup, ping]")
    root = write(tmp_path, tool=TOOL + "---\n" + ping, agent=agent, scenario=scenario(steps))
    assert found(root) == {("FOC509", S, "/spec/steps/0/tools/0/args/x")}
    open_ping = ping + "  parameters: {type: object, additionalProperties: true}\n"
    root = write(tmp_path, tool=TOOL + "---\n" + open_ping, agent=agent, scenario=scenario(steps))
    assert found(root) == set()
