"""Invariant 4: references resolve within the same tenant, with did-you-mean hints."""

from __future__ import annotations

from pathlib import Path

from .bundles import (
    AGENT,
    CHANNEL,
    SCENARIO,
    TENANT,
    TOOL,
    diagnostics,
    doc,
    found,
    scenario,
    write,
)

A = "agent.yaml"
OTHER_TENANT = doc("Tenant", "t2", "  channels: [sms]\n", tenant=None)


def test_unknown_agent_references_each_reported_with_a_hint(tmp_path: Path) -> None:
    agent = AGENT.replace("[web]", "[wbe]").replace("[lookup]", "[lookpu]") + (
        "  goals: [nothing]\n"
    )
    root = write(tmp_path, agent=agent.replace("[flow]", "[flwo]"))
    assert found(root) == {
        ("FOC301", A, "/spec/channels/0"),
        ("FOC301", A, "/spec/tools/0"),
        ("FOC301", A, "/spec/scenarios/0"),
        ("FOC301", A, "/spec/goals/0"),
    }
    hints = {d.pointer: d.hint for d in diagnostics(root)}
    assert hints["/spec/channels/0"] == "did you mean 'web'?"
    assert hints["/spec/tools/0"] == "did you mean 'lookup'?"
    assert hints["/spec/scenarios/0"] == "did you mean 'flow'?"
    assert hints["/spec/goals/0"] == "known goals: none defined"


def test_did_you_mean_only_offers_names_of_the_same_tenant(tmp_path: Path) -> None:
    other = (
        OTHER_TENANT
        + "---\n"
        + CHANNEL.replace("{name: web, tenant: t1}", "{name: webb, tenant: t2}")
    )
    root = write(tmp_path, other=other, agent=AGENT.replace("[web]", "[web, wob]"))
    (diag,) = diagnostics(root)
    assert (diag.code, diag.hint) == ("FOC301", "did you mean 'web'?")


def test_name_defined_only_in_another_tenant_is_cross_tenant(tmp_path: Path) -> None:
    other = (
        OTHER_TENANT
        + "---\n"
        + TOOL.replace("{name: lookup, tenant: t1}", "{name: crm, tenant: t2}")
    )
    root = write(tmp_path, other=other, agent=AGENT.replace("[lookup]", "[lookup, crm]"))
    assert found(root) == {("FOC303", A, "/spec/tools/1")}
    (diag,) = diagnostics(root)
    assert "'t2'" in diag.message and "'t1'" in diag.message


def test_unknown_tenant_is_reported_once_without_cascading(tmp_path: Path) -> None:
    agent = AGENT.replace("tenant: t1", "tenant: t9")
    root = write(tmp_path, agent=agent.replace("bot", "bot2"))
    assert found(root) == {("FOC304", A, "/metadata/tenant")}


def test_tool_compensation_must_exist(tmp_path: Path) -> None:
    tool = TOOL.replace("effect: pure", "effect: compensatable\n  compensation: undo-lookup")
    assert found(write(tmp_path, tool=tool)) == {("FOC301", "tool.yaml", "/spec/compensation")}


GOAL = "  agent: bot\n  trigger: {scenario: flow, reachedStep: end}\n  action: reminder\n  message: hi\n"


def test_goal_references_agent_scenario_and_step(tmp_path: Path) -> None:
    assert found(write(tmp_path, goal=doc("Goal", "nudge", GOAL))) == set()
    bad = GOAL.replace("agent: bot", "agent: bto").replace("reachedStep: end", "reachedStep: edn")
    assert found(write(tmp_path, goal=doc("Goal", "nudge", bad))) == {
        ("FOC301", "goal.yaml", "/spec/agent"),
        ("FOC301", "goal.yaml", "/spec/trigger/reachedStep"),
    }
    bad = GOAL.replace("scenario: flow", "scenario: flw")
    assert found(write(tmp_path, goal=doc("Goal", "nudge", bad))) == {
        ("FOC301", "goal.yaml", "/spec/trigger/scenario")
    }


def test_standalone_step_must_name_an_existing_scenario(tmp_path: Path) -> None:
    step = doc("Step", "lost", "  scenario: flw\n  id: x\n  terminal: true\n")
    root = write(tmp_path, step=step)
    assert found(root) == {("FOC301", "step.yaml", "/spec/scenario")}
    assert diagnostics(root)[0].hint == "did you mean 'flow'?"


def test_transition_to_unknown_step_with_hint(tmp_path: Path) -> None:
    root = write(tmp_path, scenario=SCENARIO.replace("[{to: end}]", "[{to: edn}]"))
    assert found(root) == {("FOC302", "scenario.yaml", "/spec/steps/0/transitions/0/to")}
    assert diagnostics(root)[0].hint == "did you mean 'end'?"


def test_binding_of_unknown_tool(tmp_path: Path) -> None:
    steps = "    - {id: start, terminal: true, tools: [{tool: lookpu}]}\n"
    root = write(tmp_path, scenario=scenario(steps))
    assert found(root) == {("FOC305", "scenario.yaml", "/spec/steps/0/tools/0/tool")}
    assert diagnostics(root)[0].hint == "did you mean 'lookup'?"


def test_binding_of_a_tool_of_another_tenant_is_cross_tenant(tmp_path: Path) -> None:
    other = (
        OTHER_TENANT
        + "---\n"
        + TOOL.replace("{name: lookup, tenant: t1}", "{name: crm, tenant: t2}")
    )
    steps = "    - {id: start, terminal: true, tools: [{tool: crm}]}\n"
    root = write(tmp_path, other=other, scenario=scenario(steps))
    assert found(root) == {("FOC303", "scenario.yaml", "/spec/steps/0/tools/0/tool")}


def test_every_agent_using_the_scenario_must_list_the_bound_tool(tmp_path: Path) -> None:
    tools = TOOL + "---\n" + TOOL.replace("name: lookup", "name: notify")
    second = AGENT.replace("name: bot", "name: bot2").replace("[lookup]", "[lookup, notify]")
    steps = "    - {id: start, terminal: true, tools: [{tool: lookup}, {tool: notify}]}\n"
    root = write(tmp_path, tool=tools, agent2=second, scenario=scenario(steps))
    assert found(root) == {("FOC306", "scenario.yaml", "/spec/steps/0/tools/1/tool")}
    (diag,) = diagnostics(root)
    assert "'bot'" in diag.message and "'bot2'" not in diag.message


def test_tool_bound_in_a_standalone_step_must_be_granted_too(tmp_path: Path) -> None:
    tools = TOOL + "---\n" + TOOL.replace("name: lookup", "name: notify")
    steps = "    - {id: start, transitions: [{to: end}]}\n"
    step = doc(
        "Step", "end", "  scenario: flow\n  id: end\n  terminal: true\n  tools: [{tool: notify}]\n"
    )
    root = write(tmp_path, tool=tools, scenario=scenario(steps), step=step)
    assert found(root) == {("FOC306", "step.yaml", "/spec/tools/0/tool")}


def test_a_document_with_a_syntax_error_still_declares_its_name(tmp_path: Path) -> None:
    """A duplicate key drops the tenant document; every object of the tenant then reported
    FOC304 (unknown tenant) as well. Only the duplicate key is reported now, and a reference
    to a broken tool is not reported again either."""
    tenant = TENANT.replace("spec: {", "spec: {tier: pro, tier: pro, ")
    tool = TOOL.replace("effect: pure", "effect: pure\n  effect: pure")
    root = write(tmp_path, tenant=tenant, tool=tool)
    assert found(root) == {("FOC102", "tenant.yaml", ""), ("FOC102", "tool.yaml", "")}


def test_a_file_with_a_yaml_syntax_error_still_declares_its_documents(tmp_path: Path) -> None:
    """The whole file fails to compose; what its documents declare before the error is read
    from the parser's events, so the objects of tenant t1 are not all 'unknown tenant'."""
    tenant = TENANT.replace("spec: {", "spec: {tier: [pro, ")
    tool = TOOL + "---\n" + TOOL.replace("lookup", "other").replace("pure", "[pure")
    root = write(tmp_path, tenant=tenant, tool=tool)
    assert {(code, file) for code, file, _ in found(root)} == {
        ("FOC101", "tenant.yaml"),
        ("FOC101", "tool.yaml"),
    }


def test_a_reference_to_an_invalid_object_is_not_called_unknown(tmp_path: Path) -> None:
    """One rule for every reference check: a name whose document exists but is invalid is
    not reported (its own error is), be it an agent's channel, a fallback (FOC601) or a
    binding's tool (FOC305); an unknown kind close to a known one declares that kind."""
    bad_sms = doc("ChannelProfile", "sms", "  channel: smss\n")
    web = CHANNEL.replace("{channel: webchat}", "{channel: webchat, fallback: [sms]}")
    agent = AGENT.replace("[web]", "[web, sms]")
    root = write(tmp_path, channel=web + "---\n" + bad_sms, agent=agent)
    assert {code for code, _, _ in found(root)} == {"FOC205"}
    root = write(tmp_path, channel=CHANNEL, agent=AGENT, tool=TOOL.replace("ToolEffect", "Tool"))
    assert found(root) == {("FOC109", "tool.yaml", "")}
    [unknown_kind] = diagnostics(root)
    assert unknown_kind.hint == "did you mean 'ToolEffect'?"


def test_a_document_of_an_unknown_kind_close_to_none_declares_its_name_for_every_kind(
    tmp_path: Path,
) -> None:
    """``kind: Widget`` named like the agent's tool and a step's bound tool, ``kind: Gizmo``
    named like a fallback, an agent's channel and a say variant: none of the references is
    called unknown ("known tools: none defined" sent the author looking for a name that is
    there); each document's own FOC109 is the error to fix."""
    widget = TOOL.replace("ToolEffect", "Widget")
    gizmo = doc("Gizmo", "texts", "  channel: sms\n")
    web = CHANNEL.replace("{channel: webchat}", "{channel: webchat, fallback: [texts]}")
    agent = AGENT.replace("[web]", "[web, texts]")
    steps = SCENARIO.replace('say: "Hi"', "say: {default: Hi, texts: Yo}").replace(
        'say: "Bye"', 'say: "Bye"\n      tools: [{tool: lookup}]'
    )
    root = write(tmp_path, tool=widget, channel=web + "---\n" + gizmo, agent=agent, scenario=steps)
    assert found(root) == {("FOC109", "tool.yaml", ""), ("FOC109", "channel.yaml", "")}


def test_an_unknown_kind_declares_only_its_own_name(tmp_path: Path) -> None:
    widget = TOOL.replace("ToolEffect", "Widget").replace("lookup", "lookup-v2")
    root = write(tmp_path, tool=widget)
    assert found(root) == {("FOC109", "tool.yaml", ""), ("FOC301", "agent.yaml", "/spec/tools/0")}
