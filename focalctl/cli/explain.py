"""``focalctl explain``: effective settings with the level and file:line of each value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from focalctl import jsondoc
from focalctl.cli.app import app
from focalctl.cli.common import console, fail, partial_cache
from focalctl.cli.options import EnvOpt, FormatOpt, JsonOpt, NoCacheOpt, StoreOpt, output_format

if TYPE_CHECKING:
    from focalctl.explain import Setting


@app.command("explain")
def explain_cmd(
    target: Annotated[str, typer.Argument(help=escape("TENANT/AGENT[/SCENARIO[/STEP]]"))],
    channel: Annotated[
        str | None, typer.Option("--channel", help="Channel profile (default: the agent's first).")
    ] = None,
    bundle: Annotated[
        Path | None,
        typer.Option("--bundle", help="Explain this bundle instead of the active release."),
    ] = None,
    env: EnvOpt = "dev",
    store: StoreOpt = None,
    fmt: FormatOpt = "text",
    as_json: JsonOpt = False,
    no_cache: NoCacheOpt = False,
) -> None:
    """Show the effective settings and where each value came from."""
    from focalctl.explain import Address, ExplainError, explain, source_of
    from focalctl.store import StoreError
    from runtime.snapshot import SnapshotError, load

    as_json = output_format(fmt, as_json) == "json"
    try:
        address = Address.parse(target)
        with partial_cache([bundle] if bundle else [], no_cache or bundle is None) as cache:
            src = source_of(address.tenant, bundle, env, store, cache)
        model = load(src.raw, keep="model").model
        profile, rows = explain(model, src.provenance, address, channel)
    except (ExplainError, StoreError, SnapshotError) as exc:
        fail(str(exc), getattr(exc, "hint", None))
    if as_json:
        jsondoc.write(
            {
                "target": target,
                "channel": profile,
                "source": src.label,
                "settings": [
                    {"setting": r.setting, "value": r.value, "level": r.level, "source": r.source}
                    for r in rows
                ],
            }
        )
        return
    _table(target, profile, src.label, rows)


def _table(target: str, profile: str | None, origin: str, rows: list[Setting]) -> None:
    from rich.table import Table

    table = Table(title=escape(f"{target} on {profile or 'no channel'} ({origin})"))
    table.add_column("setting", no_wrap=True)
    table.add_column("value", max_width=40, overflow="ellipsis", no_wrap=True)
    table.add_column("level", no_wrap=True)
    table.add_column("from", no_wrap=True)
    for r in rows:
        value = json.dumps(r.value, ensure_ascii=False)
        table.add_row(escape(r.setting), escape(value), r.level, escape(r.source))
    console().print(table)
