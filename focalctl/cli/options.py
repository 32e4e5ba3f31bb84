"""The options several commands share, declared once.

A command lists the ones it takes (``env: EnvOpt = "dev"``); name, environment variable,
help and validation live here, so ``--store`` means the same thing in ``plan``, ``history``,
``show`` and ``explain``. Only typer is imported: ``focalctl --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from focalctl.cli.common import check_env_option, check_tenant_option
from focalctl.diagnostics.render import FORMAT_NAMES

#: ``--format`` of every command that prints (``validate`` and ``simulate`` add their own
#: machine formats: sarif, junit, github).
FORMATS = ("text", "json")


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    """A ``--format`` callback: a value outside ``choices`` is a usage error naming them."""

    def check(value: str) -> str:
        if value not in choices:
            raise typer.BadParameter(f"'{value}' is not one of {', '.join(choices)}")
        return value

    return check


FormatOpt = Annotated[
    str,
    typer.Option("--format", "-f", help="Output format: text, json.", callback=_one_of(FORMATS)),
]


#: ``--format`` of the commands that report diagnostics (validate, lint): CI formats too.
DiagnosticFormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        help=f"Output format: {', '.join(FORMAT_NAMES)}.",
        callback=_one_of(FORMAT_NAMES),
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Same as --format json (kept for scripts).", hidden=True)
]


def output_format(fmt: str, as_json: bool) -> str:
    """The format a command prints: ``--json`` is the older spelling of ``--format json``
    (and wins over the default ``--format text``)."""
    return "json" if as_json else fmt


StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store", envvar="FOCAL_STORE", help="SQLAlchemy URL (default: sqlite:///.focal/state.db)."
    ),
]
EnvOpt = Annotated[
    str,
    typer.Option(
        "--env",
        envvar="FOCAL_ENV",
        help="Environment (an independent release line); a name like metadata.name.",
        callback=check_env_option,
    ),
]
TargetOpt = Annotated[
    str | None,
    typer.Option(
        "--target",
        envvar="FOCAL_TARGET",
        help="file:DIR or redis://HOST:PORT/DB (default: file:.focal/live).",
    ),
]
#: ``--tenant`` as a filter: only this tenant of the bundle (or of the stream).
TenantOpt = Annotated[
    str | None,
    typer.Option("--tenant", help="Only this tenant.", callback=check_tenant_option),
]
#: ``--tenant`` where the command acts on one tenant (rollback, history).
TenantRequiredOpt = Annotated[
    str, typer.Option("--tenant", help="The tenant.", callback=check_tenant_option)
]
TenantArg = Annotated[str, typer.Argument(help="Tenant name.", callback=check_tenant_option)]
StateOpt = Annotated[
    str | None,
    typer.Option(
        "--state",
        envvar="FOCAL_STATE",
        help="The runtime's state, as serve --state (sqlite:///FILE, postgresql://…, redis://…).",
    ),
]
AutoApproveOpt = Annotated[
    bool, typer.Option("--auto-approve", help="Do not ask for confirmation.")
]
CompactOpt = Annotated[
    bool,
    typer.Option(
        "--compact", help="Name the objects that change, without their attributes and fields."
    ),
]
NoCacheOpt = Annotated[
    bool,
    typer.Option(
        "--no-cache",
        envvar="FOCAL_NO_CACHE",
        help="Parse and check every file again; neither read nor write the partial-parse cache "
        "(.focal/cache/, or FOCAL_CACHE_DIR).",
    ),
]
