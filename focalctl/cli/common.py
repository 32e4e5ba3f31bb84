"""What every command shares: colour and prompt policy, exit codes, error output.

Start-up stays fast (``focalctl --help`` must not load the compiler, the store or the
runtime): this module and the command modules import only typer and rich at the top; each
command imports the library it calls inside its function.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from focalctl.partial import PartialCache

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
    err.print(f"[bold red]error[/]: {escape(message)}")  # messages may quote [brackets]
    if hint:
        err.print(f"  [cyan]help[/]: {escape(hint)}")
    raise typer.Exit(code)


def _name_callback(what: str) -> Callable[[str | None], str | None]:
    def check(value: str | None) -> str | None:
        if value is None:
            return None
        from focalctl.names import InvalidName, check_name

        try:
            return check_name(what, value)
        except InvalidName as exc:
            raise typer.BadParameter(str(exc)) from exc

    return check


def _lock_id_callback(value: str) -> str:
    from focalctl.names import InvalidName, check_lock_id

    try:
        return check_lock_id(value)
    except InvalidName as exc:
        raise typer.BadParameter(str(exc)) from exc


# Names that become paths and keys are checked where they are read (usage error, exit 2).
check_env_option = _name_callback("environment")
check_tenant_option = _name_callback("tenant")
check_lock_id_argument = _lock_id_callback


@contextmanager
def partial_cache(
    paths: Sequence[Path], no_cache: bool, *, trusted: bool = True
) -> Iterator[PartialCache]:
    """The bundle's partial-parse cache, saved when the command ends normally or with a
    user-facing exit (its records are complete once validation has run). Not ``trusted``
    (for what apply publishes), the previous records are not read: the run is cold and only
    refreshes the cache."""
    from focalctl.partial import PartialCache

    if no_cache:
        cache = PartialCache.off()
    else:
        cache = PartialCache.open(paths) if trusted else PartialCache.refresh(paths)
    try:
        yield cache
    except typer.Exit:
        _save(cache)
        raise
    _save(cache)


def _save(cache: PartialCache) -> None:
    try:
        cache.save()
    except OSError as exc:  # a read-only checkout: the next run is simply cold
        if os.environ.get("FOCAL_DEBUG") == "1":
            sys.stderr.write(f"focalctl: partial-parse cache not written: {exc}\n")
        return
    if os.environ.get("FOCAL_DEBUG") == "1":
        sys.stderr.write(f"focalctl: {cache.stats().line()}\n")
