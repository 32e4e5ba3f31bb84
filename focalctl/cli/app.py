"""The typer application every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="focalctl",
    help="Focal: agent configuration as code. Validate, plan and apply bundles; run the runtime.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
