"""The typer application every command module registers on, and its global options."""

from __future__ import annotations

from typing import Annotated

import typer

from focalctl import __version__

app = typer.Typer(
    name="focalctl",
    help="Focal: agent configuration as code. Validate, plan and apply bundles; run the runtime.",
    no_args_is_help=True,
    # --install-completion / --show-completion: typer detects the shell only when asked.
    add_completion=True,
    pretty_exceptions_enable=False,
    # Inherited by every command's context: `focalctl plan -h` works like --help.
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"focalctl {__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    pass
