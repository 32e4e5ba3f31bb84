"""A step in a diagnostic's path is named by its id (``spec.steps[end]``), read from the raw
document, in every output format; a step without a valid, unique id keeps its index."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from focalctl.diagnostics.paths import readable
from focalctl.diagnostics.render import FORMAT_NAMES, Report, formatters

from .bundles import SCENARIO, TOOL, diagnostics, write


def _messages(root: Path) -> dict[str, str]:
    return {d.pointer: d.message for d in diagnostics(root)}


def test_a_schema_error_inside_a_step_names_the_step_by_id(tmp_path: Path) -> None:
    scenario = SCENARIO.replace('say: "Bye"', 'say: "Bye"\n      tools: [{tool: lookup, at: nevr}]')
    messages = _messages(write(tmp_path, scenario=scenario))
    assert messages["/spec/steps/1/tools/0/at"].startswith("spec.steps[end].tools.0.at: 'nevr'")


def test_a_step_whose_id_is_invalid_or_missing_keeps_its_index(tmp_path: Path) -> None:
    scenario = SCENARIO.replace("- id: end", "- id: The-End").replace(
        "- id: start\n", "- say: x\n      colour: red\n    - id: start\n"
    )
    messages = _messages(write(tmp_path, scenario=scenario))
    assert messages["/spec/steps/2/id"].startswith("spec.steps.2.id: 'The-End'")
    assert messages["/spec/steps/0/colour"] == "unknown field 'colour' in spec.steps.0"
    assert messages["/spec/steps/0/id"] == "missing required field 'id' in spec.steps.0"


def test_two_steps_with_one_id_keep_their_indices(tmp_path: Path) -> None:
    scenario = SCENARIO.replace("- id: end", "- id: start").replace(
        'say: "Bye"', 'say: "Bye"\n      colour: red'
    )
    messages = _messages(write(tmp_path, scenario=scenario))
    assert messages["/spec/steps/1/colour"] == "unknown field 'colour' in spec.steps.1"


def test_a_literal_secret_in_a_step_names_the_step(tmp_path: Path) -> None:
    token = "sk_live_" + "a1b2c3d4e5f6g7h8i9j0k1l2"
    scenario = SCENARIO.replace('say: "Hi"', f'say: "Hi, use {token}"')
    (diag,) = [d for d in diagnostics(write(tmp_path, scenario=scenario)) if d.code == "FOC510"]
    assert diag.message.startswith("spec.steps[start].say looks like a literal secret")


def test_every_output_format_shows_the_step_by_id(tmp_path: Path) -> None:
    scenario = SCENARIO.replace('say: "Bye"', 'say: "Bye"\n      colour: red')
    diags = diagnostics(write(tmp_path, scenario=scenario, tool=TOOL))
    assert [d.message for d in diags] == ["unknown field 'colour' in spec.steps[end]"]
    for name in FORMAT_NAMES:
        out = io.StringIO()
        formatters()[name](Report(diags), out, color=False)
        assert "spec.steps[end]" in out.getvalue(), name


@pytest.mark.parametrize(
    ("path", "data", "prefix", "shown"),
    [
        ((), {}, (), "document"),
        (("steps", 0, "say"), {"steps": [{"id": "ask"}]}, ("spec",), "spec.steps[ask].say"),
        (("steps", 5), {"steps": [{"id": "ask"}]}, ("spec",), "spec.steps.5"),
        (("steps", 0), {"steps": [{"id": 7}]}, (), "steps.0"),
        (("tools", 0, "steps", 0), {"tools": [{"steps": ["x"]}]}, (), "tools.0.steps.0"),
        (
            ("spec", "steps", 1, "tools", 0),
            {"spec": {"steps": [{}, {"id": "b"}]}},
            (),
            "spec.steps[b].tools.0",
        ),
    ],
)
def test_readable(
    path: tuple[str | int, ...], data: object, prefix: tuple[str, ...], shown: str
) -> None:
    assert readable(path, data, prefix) == shown
