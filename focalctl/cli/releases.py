"""Release commands that only read the store: ``show`` and ``diff``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.markup import escape

from focalctl import jsondoc
from focalctl.cli.app import app
from focalctl.cli.common import EXIT_ERROR, console, fail
from focalctl.cli.options import EnvOpt, FormatOpt, StoreOpt, TenantArg
from focalctl.cli.state import git_shown

if TYPE_CHECKING:
    from focalctl.releases import ReleaseDiff, ReleaseInfo
    from focalctl.store import Release, Store

T = TypeVar("T")


def _read(store: str | None, call: Callable[[Store], T]) -> T:
    """Open the store, make one read, close it; a store error is one line and exit 1."""
    from focalctl.store import StoreError, open_store

    try:
        st = open_store(store)
    except StoreError as exc:
        fail(str(exc), exc.hint)
    try:
        return call(st)
    except StoreError as exc:
        fail(str(exc), exc.hint, code=EXIT_ERROR)
    finally:
        st.close()


@app.command()
def show(
    tenant: TenantArg,
    version: Annotated[int, typer.Argument(help="Release version (see focalctl history).")],
    env: EnvOpt = "dev",
    store: StoreOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Show one stored release: its snapshot, when and by whom, and what it holds."""
    from focalctl.releases import describe

    info = _read(store, lambda st: describe(st, tenant, env, version))
    if fmt == "json":
        jsondoc.write(_release_json(info))
    else:
        _render_release(info)


@app.command("diff")
def diff_cmd(
    tenant: TenantArg,
    a: Annotated[int, typer.Argument(help="The older release version (the base).")],
    b: Annotated[int, typer.Argument(help="The release version to compare with A.")],
    env: EnvOpt = "dev",
    store: StoreOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Show what changes from release A to release B, as plan shows it."""
    from focalctl.releases import diff_releases

    d = _read(store, lambda st: diff_releases(st, tenant, env, a, b))
    if fmt == "json":
        jsondoc.write(release_diff_json(d))
    else:
        render_release_diff(d)


def _release_json(info: ReleaseInfo) -> dict[str, object]:
    return {
        **info.release.to_json(),
        "active": info.active,
        "compiler_version": info.compiler_version,
        "objects": {"total": info.object_count, "by_kind": info.objects},
    }


def _render_release(info: ReleaseInfo) -> None:
    r = info.release
    c = console()
    active = " [green](active)[/]" if info.active else ""
    c.print(f"[bold]{r.tenant}[/] ({r.env}) version {r.version}{active}")
    kind = r.kind + (f" of version {r.rollback_of}" if r.rollback_of else "")
    for label, value in (
        ("snapshot", r.snapshot_id),
        ("created", f"{r.created_at:%Y-%m-%d %H:%M:%S} UTC"),
        ("by", r.author),
        ("kind", kind),
        ("message", r.message or "-"),
        ("commit", git_shown(r) or "-"),
        ("compiler", info.compiler_version),
    ):
        c.print(f"  {label + ':':<10}{escape(value)}")
    kinds = ", ".join(f"{n} {k}" for k, n in info.objects.items())
    c.print(f"  {'objects:':<10}{info.object_count} ({escape(kinds)})")


def _side(r: Release) -> dict[str, object]:
    return {"version": r.version, "snapshot": r.snapshot_id}


def release_diff_json(d: ReleaseDiff) -> dict[str, object]:
    from focalctl.plan.render import result_json

    return {
        "tenant": d.tenant,
        "env": d.env,
        "base": _side(d.old),
        "candidate": _side(d.new),
        **result_json(d.result),
    }


def render_release_diff(d: ReleaseDiff, *, verb: str = "Diff") -> None:
    from focalctl.plan.render import render_result

    c = console()
    c.print(
        f"[bold]Tenant {d.tenant}[/] (env {d.env}): version {d.new.version} "
        f"({d.new.snapshot_id[:19]}…) against version {d.old.version} ({d.old.snapshot_id[:19]}…)"
    )
    if not d.result.has_changes:
        c.print("\nNo changes: both releases have the same configuration.")
        return
    c.print()
    render_result(c, d.result, verb=verb)
