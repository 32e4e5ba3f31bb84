"""``focalctl explain``: effective settings with the level and file:line of each value."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from focalctl.cli.app import app
from focalctl.cli.common import NoCacheOpt, check_env_option, console, fail, partial_cache


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
    env: Annotated[
        str, typer.Option("--env", envvar="FOCAL_ENV", callback=check_env_option)
    ] = "dev",
    store: Annotated[str | None, typer.Option("--store", envvar="FOCAL_STORE")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as versioned JSON.")] = False,
    no_cache: NoCacheOpt = False,
) -> None:
    """Show the effective settings and where each value came from."""
    from rich.table import Table

    from focalctl.explain import ExplainError, Target, explain
    from focalctl.store import StoreError
    from runtime.snapshot import SnapshotError, load

    try:
        parsed = Target.parse(target)
        raw, provenance, origin = _source(parsed.tenant, bundle, env, store, no_cache)
        model = load(raw, keep="model").model
        profile, rows = explain(model, provenance, parsed, channel)
    except (ExplainError, StoreError, SnapshotError) as exc:
        fail(str(exc), getattr(exc, "hint", None))
    if as_json:
        doc = {
            "format_version": "1.0",
            "target": target,
            "channel": profile,
            "source": origin,
            "settings": [
                {"setting": r.setting, "value": r.value, "level": r.level, "source": r.source}
                for r in rows
            ],
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    table = Table(title=escape(f"{target} on {profile or 'no channel'} ({origin})"))
    table.add_column("setting", no_wrap=True)
    table.add_column("value", max_width=40, overflow="ellipsis", no_wrap=True)
    table.add_column("level", no_wrap=True)
    table.add_column("from", no_wrap=True)
    for r in rows:
        value = json.dumps(r.value, ensure_ascii=False)
        table.add_row(escape(r.setting), escape(value), r.level, escape(r.source))
    console().print(table)


def _source(
    tenant: str, bundle: Path | None, env: str, store_url: str | None, no_cache: bool
) -> tuple[bytes, dict[str, Any], str]:
    from focalctl.compile import compile_paths
    from focalctl.explain import ExplainError
    from focalctl.store import open_store

    if bundle is not None:
        with partial_cache([bundle], no_cache) as cache:
            result = compile_paths([bundle], cache)
        if not result.ok:
            fail(f"{bundle} does not validate; run focalctl validate {bundle}")
        if tenant not in result.snapshots:
            raise ExplainError(f"bundle {bundle} defines no tenant '{tenant}'")
        snap = result.snapshots[tenant]
        return snap.raw, snap.provenance, f"bundle {bundle}"
    st = open_store(store_url)
    try:
        active = st.active(tenant, env)
        if active is None:
            raise ExplainError(
                f"{tenant} has no release in {env}; apply a bundle first or pass --bundle PATH"
            )
        stored = st.get_snapshot(active.snapshot_id)
    finally:
        st.close()
    return stored.raw, stored.provenance, f"{env} version {active.version}"
