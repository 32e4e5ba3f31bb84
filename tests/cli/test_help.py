"""Every command's help renders (found from the app, not listed here); --version, -h, completion."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

import focalctl
from focalctl.cli.main import app
from tests.conftest import REPO, focalctl_env

runner = CliRunner()


def _command_paths() -> list[tuple[str, ...]]:
    """Every command of the app, as the words that name it (sub-groups walked too)."""
    paths: list[tuple[str, ...]] = []

    # typer vendors click: a group is whatever has sub-commands.
    def walk(group: object, prefix: tuple[str, ...]) -> None:
        for name, cmd in getattr(group, "commands", {}).items():
            paths.append((*prefix, name))
            walk(cmd, (*prefix, name))

    walk(ROOT, ())
    return paths


ROOT = typer.main.get_command(app)  # the click command tree, built once
COMMANDS = _command_paths()


def _command(words: tuple[str, ...]) -> typer.core.TyperCommand | typer.core.TyperGroup:
    """The click command that ``words`` name."""
    cmd = ROOT
    for word in words:
        cmd = cmd.commands[word]  # type: ignore[attr-defined]
    return cmd


def test_the_app_has_the_commands_it_registers() -> None:
    # A guard for the discovery itself: an empty list would make the tests below vacuous.
    assert {"validate", "init", "explain", "plan", "apply", "serve"} <= {c[0] for c in COMMANDS}


@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_every_command_help_renders(words: tuple[str, ...], flag: str) -> None:
    result = runner.invoke(app, [*words, flag], env={"NO_COLOR": "1", "COLUMNS": "100"})
    out = result.output
    assert result.exit_code == 0, (out, result.exception)
    assert result.exception is None
    assert f"Usage: focalctl {' '.join(words)}" in out
    assert "Traceback" not in out


def _bracketed_help() -> list[tuple[tuple[str, ...], str]]:
    """(command, help text as users should read it) for every option or argument whose help
    has brackets: rich takes '[/STEP]' for a tag, so such texts are escaped in the source."""
    found = []
    for words in COMMANDS:
        for param in _command(words).params:
            text = getattr(param, "help", None) or ""
            if "[" in text:
                found.append((words, text.replace("\\[", "[")))
    return found


BRACKETED = _bracketed_help()


def test_bracketed_help_is_found() -> None:
    assert (("explain",), "TENANT/AGENT[/SCENARIO[/STEP]]") in BRACKETED


@pytest.mark.parametrize(("words", "text"), BRACKETED, ids=lambda v: str(v))
def test_help_texts_with_brackets_render_literally(words: tuple[str, ...], text: str) -> None:
    # explain --help crashed on "[/STEP]"; a bracket pair that parses as a tag would vanish.
    result = runner.invoke(app, [*words, "--help"], env={"NO_COLOR": "1", "COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert text in result.output


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_app_help_lists_every_command_and_the_global_options(flag: str) -> None:
    result = runner.invoke(app, [flag], env={"NO_COLOR": "1", "COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "Usage: focalctl [OPTIONS] COMMAND" in result.output
    for words in COMMANDS:
        assert words[0] in result.output
    for option in ("--version", "--install-completion", "--show-completion"):
        assert option in result.output


def test_every_command_has_a_one_line_summary() -> None:
    """The command list shows each help's first paragraph with its line breaks kept: a summary
    that wraps in the source breaks mid-sentence there (lint's did, after "goals")."""
    long = []
    for words in COMMANDS:
        summary = (_command(words).help or "").strip().split("\n\n")[0]
        if not summary or "\n" in summary:
            long.append((" ".join(words), summary))
    assert not long, "give each a one-line first paragraph, a blank line, then the rest"


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"focalctl {focalctl.__version__}\n"


# What the console script does, under the name it has (usage lines and completion use it).
ENTRY = "import sys; sys.argv[0] = 'focalctl'; from focalctl.cli.main import main; main()"


def _focalctl(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        cwd=REPO,
        env=focalctl_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_and_version_as_a_process() -> None:
    helped = _focalctl("--help")
    assert helped.returncode == 0, helped.stderr
    assert "Usage: focalctl [OPTIONS] COMMAND" in helped.stdout
    assert helped.stderr == ""
    version = _focalctl("--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout == f"focalctl {focalctl.__version__}\n"


def test_shell_completion_completes_commands_and_options() -> None:
    # What the script printed by --show-completion runs on each <TAB>.
    words = _focalctl(_FOCALCTL_COMPLETE="complete_bash", COMP_WORDS="focalctl va", COMP_CWORD="1")
    assert words.returncode == 0, words.stderr
    assert words.stdout.split() == ["validate"]
    options = _focalctl(
        _FOCALCTL_COMPLETE="complete_bash", COMP_WORDS="focalctl plan --det", COMP_CWORD="2"
    )
    assert options.stdout.split() == ["--detailed-exitcode"]
    script = _focalctl("--show-completion", "bash")
    assert script.returncode == 0 and "_FOCALCTL_COMPLETE" in script.stdout
