"""FOC201's indentation hint: a field dedented out of a sibling written as ``x:`` (null or
``{}``) says to indent it under ``x:``, wherever the model nests a mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from .bundles import SCENARIO, TOOL, diagnostics, doc, write

INDENT = "did you mean to indent it under `{}:`?"


def _hints(root: Path) -> dict[str, str | None]:
    return {d.pointer: d.hint for d in diagnostics(root) if d.code == "FOC201"}


def test_a_tool_confirmation_left_empty_with_its_fields_dedented(tmp_path: Path) -> None:
    tool = TOOL + "  confirmation:\n  required: true\n  prompt: Sure?\n"
    assert _hints(write(tmp_path, tool=tool)) == {
        "/spec/required": INDENT.format("confirmation"),
        "/spec/prompt": INDENT.format("confirmation"),
    }


@pytest.mark.parametrize("empty", ["", " {}", " null"])
def test_a_step_checkpoint_and_settings(tmp_path: Path, empty: str) -> None:
    scenario = SCENARIO.replace(
        '      say: "Bye"\n',
        f'      say: "Bye"\n      checkpoint:{empty}\n      description: done\n'
        f"      settings:{empty}\n      llm: {{temperature: 0.2}}\n",
    )
    assert _hints(write(tmp_path, scenario=scenario)) == {
        "/spec/steps/1/description": INDENT.format("checkpoint"),
        "/spec/steps/1/llm": INDENT.format("settings"),
    }


def test_spec_and_metadata_dedented_to_the_top_level(tmp_path: Path) -> None:
    channel = (
        "apiVersion: focal/v1\nkind: ChannelProfile\nmetadata: {name: web, tenant: t1}\n"
        "spec:\nchannel: webchat\n"
    )
    tool = "apiVersion: focal/v1\nkind: ToolEffect\nmetadata:\nname: lookup\ntenant: t1\n"
    hints = _hints(write(tmp_path, channel=channel, tool=tool))
    assert hints["/channel"] == INDENT.format("spec")
    assert hints["/name"] == hints["/tenant"] == INDENT.format("metadata")


def test_the_nearest_empty_sibling_before_the_field_wins(tmp_path: Path) -> None:
    # `language` is a Settings field; the empty `checkpoint:` after it has no such field anyway,
    # but the nearest empty sibling before the field is the one tried first
    scenario = SCENARIO.replace(
        '      say: "Bye"\n',
        '      say: "Bye"\n      settings:\n      language: fr\n      checkpoint:\n',
    )
    assert _hints(write(tmp_path, scenario=scenario)) == {
        "/spec/steps/1/language": INDENT.format("settings")
    }


def test_a_sibling_with_content_or_a_field_it_does_not_have_keeps_the_old_hint(
    tmp_path: Path,
) -> None:
    tool = TOOL + "  confirmation: {required: true}\n  prompt: Sure?\n  colour: red\n"
    hints = _hints(write(tmp_path, tool=tool))
    assert hints["/spec/prompt"] == hints["/spec/colour"]
    assert (hints["/spec/prompt"] or "").startswith("remove it; allowed fields:")


def test_a_list_sibling_is_not_a_mapping_to_indent_under(tmp_path: Path) -> None:
    scenario = SCENARIO.replace(
        '      say: "Bye"\n', '      say: "Bye"\n      tools:\n      tool: x\n'
    )
    hint = _hints(write(tmp_path, scenario=scenario))["/spec/steps/1/tool"]
    assert hint is not None and "indent" not in hint


def test_a_profile_uses_the_same_rule(tmp_path: Path) -> None:
    channel = doc(
        "ChannelProfile", "web", "  channel: webchat\n  capabilities:\n  markdown: true\n"
    )
    assert _hints(write(tmp_path, channel=channel)) == {
        "/spec/markdown": INDENT.format("capabilities")
    }


def test_the_empty_mapping_itself_names_the_fields_to_indent(tmp_path: Path) -> None:
    tool = TOOL + "  confirmation:\n  required: true\n  prompt: Sure?\n"
    [empty] = [d for d in diagnostics(write(tmp_path, tool=tool)) if d.code == "FOC203"]
    assert empty.pointer == "/spec/confirmation"
    assert empty.hint == "did you mean to indent 'required', 'prompt' under it?"


def test_a_name_dedented_out_of_metadata_is_still_declared(tmp_path: Path) -> None:
    """References to it are not called unknown: its own FOC203/FOC201 say what to fix."""
    tool = TOOL.replace(
        "metadata: {name: lookup, tenant: t1}", "metadata:\nname: lookup\ntenant: t1"
    )
    assert {(d.code, d.pointer) for d in diagnostics(write(tmp_path, tool=tool))} == {
        ("FOC203", "/metadata"),
        ("FOC201", "/name"),
        ("FOC201", "/tenant"),
    }
