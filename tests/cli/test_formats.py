"""CLI conventions: every command that prints takes ``--format text|json``; every JSON document
carries the one ``format_version``; ``--json`` is the same as ``--format json``; the shared
options mean the same thing in every command. In process, through typer's runner."""

from __future__ import annotations

import json
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from focalctl.cli.main import app
from focalctl.jsondoc import FORMAT_VERSION
from tests.conftest import REPO

RETAIL = str(REPO / "examples/retail")


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"NO_COLOR": "1", "COLUMNS": "200"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A store and target with examples/retail applied once, and the audit of its simulations."""
    root = tmp_path_factory.mktemp("world")
    opts = {"store": f"sqlite:///{root / 'state.db'}", "target": f"file:{root / 'live'}"}
    code, _, err = _run(
        "apply", RETAIL, "--store", opts["store"], "--target", opts["target"], "--auto-approve"
    )
    assert code == 0, err
    code, out, _ = _run("simulate", RETAIL, "--out", str(root / "sims"))
    assert code == 0, out
    opts["audit"] = str(root / "sims" / "audit.jsonl")
    return opts


def _commands(world: dict[str, str]) -> dict[str, list[str]]:
    s = ["--store", world["store"]]
    return {
        "validate": ["validate", RETAIL, "--no-cache"],
        "plan": ["plan", RETAIL, *s, "--target", world["target"], "--no-cache"],
        "history": ["history", "--tenant", "acme", *s],
        "show": ["show", "acme", "1", *s],
        "diff": ["diff", "acme", "1", "1", *s],
        "explain": ["explain", "acme/support", *s],
        "report": ["report", "--audit", world["audit"]],
        "simulate": ["simulate", RETAIL],
    }


@pytest.mark.parametrize(
    "command", ["validate", "plan", "history", "show", "diff", "explain", "report", "simulate"]
)
def test_every_json_document_has_the_one_format_version(
    world: dict[str, str], command: str
) -> None:
    code, out, err = _run(*_commands(world)[command], "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert next(iter(doc)) == "format_version"  # first, so `head` shows it
    assert doc["format_version"] == FORMAT_VERSION


@pytest.mark.parametrize("command", ["plan", "history", "explain", "report"])
def test_json_is_the_older_spelling_of_format_json(world: dict[str, str], command: str) -> None:
    argv = _commands(world)[command]
    a = _run(*argv, "--format", "json")
    b = _run(*argv, "--json")
    assert a[0] == b[0] == 0
    assert json.loads(a[1]) == json.loads(b[1])
    text = _run(*argv)
    assert text[0] == 0 and not text[1].lstrip().startswith("{")


@pytest.mark.parametrize("command", ["plan", "history", "show", "diff", "explain", "report"])
def test_an_unknown_format_is_a_usage_error_naming_the_choices(
    world: dict[str, str], command: str
) -> None:
    code, out, err = _run(*_commands(world)[command], "--format", "xml")
    assert code == 2
    assert "'xml' is not one of text, json" in err
    assert out == ""


def _options(name: str) -> dict[str, Any]:
    """Every command's option called ``name``, by command (typer may carry its own click)."""
    group: Any = typer.main.get_command(app)
    ctx = group.context_class(group)
    out: dict[str, Any] = {}
    for command_name in group.list_commands(ctx):
        command = group.get_command(ctx, command_name)
        assert command is not None
        for param in command.params:
            if param.param_type_name == "option" and name in param.opts:
                out[command_name] = param
    return out


@pytest.mark.parametrize(
    ("name", "at_least"),
    [("--store", 7), ("--env", 8), ("--target", 4), ("--format", 9), ("--no-cache", 4)],
)
def test_a_shared_option_is_declared_once(name: str, at_least: int) -> None:
    options = _options(name)
    assert len(options) >= at_least, sorted(options)
    if name == "--format":  # the diagnostic commands add CI formats (sarif, junit, github)
        assert options["validate"].help == options["lint"].help
        assert "sarif" in options["validate"].help
        options = {k: v for k, v in options.items() if k not in ("validate", "lint", "simulate")}
    shapes = {
        (tuple(o.opts), o.envvar if isinstance(o.envvar, str) else None, o.help)
        for o in options.values()
    }
    assert len(shapes) == 1, shapes
