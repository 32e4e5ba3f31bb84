"""What every command shares: colour and prompt policy, exit codes, error output."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import typer
from rich.console import Console

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def use_color(stream: object = None) -> bool:
    """Colour only on a terminal and never with NO_COLOR set (https://no-color.org)."""
    stream = stream or sys.stdout
    return "NO_COLOR" not in os.environ and bool(getattr(stream, "isatty", lambda: False)())


def console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    color = use_color(stream)
    tty = bool(getattr(stream, "isatty", lambda: False)())
    # Off a terminal (CI logs, files) there is no width to respect: don't squeeze tables to 80.
    width = None if tty or "COLUMNS" in os.environ else 160
    return Console(
        file=stream,
        no_color=not color,
        force_terminal=color,
        highlight=False,
        soft_wrap=True,
        width=width,
    )


def fail(message: str, hint: str | None = None, code: int = EXIT_ERROR) -> NoReturn:
    """Print a one-line error (and how to fix it) to stderr and exit."""
    err = console(stderr=True)
    err.print(f"[bold red]error[/]: {message}")
    if hint:
        err.print(f"  [cyan]help[/]: {hint}")
    raise typer.Exit(code)
