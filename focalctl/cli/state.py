"""State commands: ``plan``, ``apply``, ``rollback``, ``history``, ``force-unlock``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.markup import escape

from focalctl import jsondoc
from focalctl.cli.app import app
from focalctl.cli.common import (
    EXIT_USAGE,
    check_lock_id_argument,
    console,
    fail,
    partial_cache,
    use_color,
)
from focalctl.cli.options import (
    AutoApproveOpt,
    CompactOpt,
    EnvOpt,
    FormatOpt,
    JsonOpt,
    NoCacheOpt,
    StateOpt,
    StoreOpt,
    TargetOpt,
    TenantOpt,
    TenantRequiredOpt,
    output_format,
)

if TYPE_CHECKING:
    from focalctl.diagnostics import Diagnostic
    from focalctl.plan.tenant import TenantPlan
    from focalctl.publish import Target
    from focalctl.simulate import Comparison
    from focalctl.store import Release, Store


@contextmanager
def _world(store_url: str | None, target_spec: str | None) -> Iterator[tuple[Store, Target]]:
    """Open store and target; turn their errors into one clear line (and how to fix it) and
    exit 1, or 2 for a usage error (a bad name, an unusable environment variable)."""
    from focalctl.names import InvalidName
    from focalctl.publish import PublishError, open_target
    from focalctl.store import StoreError, open_store

    try:
        store = open_store(store_url)
    except StoreError as exc:
        _fail(exc)
    try:
        target = open_target(target_spec)
        yield store, target
    except (StoreError, PublishError, InvalidName) as exc:
        _fail(exc)
    finally:
        store.close()


def _fail(exc: Exception) -> NoReturn:
    from focalctl.names import InvalidName
    from focalctl.release import ConfigError

    code = EXIT_USAGE if isinstance(exc, ConfigError | InvalidName) else 1
    fail(str(exc), getattr(exc, "hint", None), code=code)


def _check_lock_ttl() -> None:
    """Refuse an unusable FOCAL_LOCK_TTL before compiling anything."""
    from focalctl.release import ConfigError, lock_ttl

    try:
        lock_ttl()
    except ConfigError as exc:
        _fail(exc)


def _invalid(diagnostics: list[Diagnostic], sources: dict[str, bytes] | None = None) -> NoReturn:
    from focalctl.diagnostics.render import Report, formatters

    formatters()["text"](
        Report(diagnostics=diagnostics, sources=sources or {}),
        sys.stderr,
        color=use_color(sys.stderr),
    )
    fail(
        "the bundle is invalid; nothing was planned",
        "fix the errors above (focalctl validate shows them too)",
    )


def _sources(diagnostics: list[Diagnostic]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for d in diagnostics:
        if d.file and d.file not in out and Path(d.file).is_file():
            out[d.file] = Path(d.file).read_bytes()
    return out


@app.command()
def plan(
    path: Annotated[Path, typer.Argument(help="Bundle directory or file.")] = Path("."),
    tenant: TenantOpt = None,
    env: EnvOpt = "dev",
    store: StoreOpt = None,
    target: TargetOpt = None,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 0 no changes, 1 error, 2 changes.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("-out", "--out", help="Save the plan to FILE for apply.")
    ] = None,
    fmt: FormatOpt = "text",
    as_json: JsonOpt = False,
    no_cache: NoCacheOpt = False,
    compact: CompactOpt = False,
    state: StateOpt = None,
    simulate: Annotated[
        bool,
        typer.Option(
            "--simulate",
            help="Run the bundle's simulations on the active release and on the candidate, "
            "and show the ones whose behaviour changes.",
        ),
    ] = False,
) -> None:
    """Show what apply would change, object by object and field by field."""
    from focalctl.plan.render import plan_json, render_text
    from focalctl.release import make_plans, save_plan

    as_json = output_format(fmt, as_json) == "json"

    # A saved plan is what apply releases: it is compiled cold, never from the cache.
    trusted = out is None
    with (
        partial_cache([path], no_cache, trusted=trusted) as cache,
        _world(store, target) as (st, tg),
    ):
        plans, diags = make_plans(st, tg, [path], env, tenant, cache)
        behaviour = _behaviour(st, path, plans) if simulate and plans else {}
    if not plans:
        _invalid(diags, _sources(diags))
    if state is not None:
        _count_live(state, plans)
    if out is not None:
        if len(plans) != 1:
            fail("-out saves one tenant's plan; this bundle has several", "add --tenant NAME")
        from focalctl.gitinfo import git_info

        plans[0].git = git_info(path)
        try:
            save_plan(out, plans[0])
        except OSError as exc:
            fail(
                f"cannot write the plan to {out}: {exc.strerror or exc}",
                "choose a writable -out path in a directory that exists",
            )
    if as_json:
        doc = [plan_json(p) for p in plans]
        if simulate:
            from focalctl.simulate.views import comparisons_json

            for d, p in zip(doc, plans, strict=True):
                d["simulations"] = comparisons_json(behaviour.get(p.tenant, []))
        jsondoc.write(doc[0] if len(doc) == 1 else {"plans": doc})
    else:
        c = console()
        for p in plans:
            render_text(c, p, compact=compact)
            if simulate:
                from focalctl.simulate.views import comparisons_text

                comparisons_text(behaviour.get(p.tenant, []), c)
        if out is not None:
            c.print(
                f"\nSaved the plan to {escape(str(out))}. Apply exactly this plan with: "
                f"focalctl apply {escape(str(out))}"
            )
    if detailed_exitcode and any(p.result.has_changes for p in plans):
        raise typer.Exit(2)


def _behaviour(st: Store, path: Path, plans: list[TenantPlan]) -> dict[str, list[Comparison]]:
    """Each tenant's simulations on its active snapshot and on its candidate."""
    from focalctl.simulate import compare, simulations_of

    simulations = simulations_of([path])
    out: dict[str, list[Comparison]] = {}
    for p in plans:
        mine = [s for s in simulations if s.tenant == p.tenant]
        base = None
        if p.base is not None:
            stored = st.get_snapshot(p.base.snapshot_id)
            base = (stored.id, stored.raw)
        out[p.tenant] = compare(mine, base, (p.candidate.id, p.candidate.raw))
    return out


def _count_live(url: str, plans: list[TenantPlan]) -> None:
    """Read how many conversations sit on each step, per tenant, from the runtime's state."""
    from runtime.ports import StateError, open_state

    try:
        backend = open_state(url)
    except StateError as exc:
        fail(f"--state: {exc}", exc.hint, code=EXIT_USAGE)
    try:
        for p in plans:
            p.result.live = backend.count_by_step(p.tenant)
    except Exception as exc:  # the driver's own error: unreachable, refused, no such database
        fail(
            f"cannot read live conversations from {backend.description}: {type(exc).__name__}",
            "check that the state the runtime uses is reachable, or leave out --state",
        )
    finally:
        backend.close()


@app.command()
def apply(
    path: Annotated[
        Path, typer.Argument(help="Bundle directory, or a plan file saved with plan -out.")
    ] = Path("."),
    tenant: TenantOpt = None,
    env: EnvOpt = "dev",
    store: StoreOpt = None,
    target: TargetOpt = None,
    auto_approve: AutoApproveOpt = False,
    message: Annotated[str, typer.Option("--message", "-m", help="Recorded on the release.")] = "",
    no_cache: NoCacheOpt = False,
    compact: CompactOpt = False,
    fmt: FormatOpt = "text",
) -> None:
    """Store the snapshot, record a new release and publish it."""
    from focalctl.plan.render import plan_json, render_text
    from focalctl.release import (
        apply_plan,
        is_plan_file,
        load_saved_plan,
        make_plans,
        reconcile,
    )

    as_json = fmt == "json"
    if as_json and not auto_approve:
        fail(
            "--format json cannot ask for confirmation",
            "add --auto-approve (after reviewing `focalctl plan`), as for terraform apply -json",
            code=EXIT_USAGE,
        )
    c = console(stderr=as_json)  # with json, stdout carries one document and nothing else
    _check_lock_ttl()
    with _world(store, target) as (st, tg):
        saved = is_plan_file(path)
        if saved:
            one = load_saved_plan(path, st, tenant, env)
            plans: list[TenantPlan] = [one]
        else:
            # What is published never comes from the partial-parse cache (its bytes are not
            # authenticated): apply compiles cold and only refreshes the cache.
            with partial_cache([path], no_cache, trusted=False) as cache:
                plans, diags = make_plans(st, tg, [path], env, tenant, cache)
            if not plans:
                _invalid(diags, _sources(diags))
            from focalctl.gitinfo import git_info

            git = git_info(path)
            for p in plans:
                p.git = git
        applied: list[dict[str, Any]] = []
        for p in plans:
            if as_json:
                applied.append({"plan": plan_json(p), "release": None, "published_to": None})
            else:
                render_text(c, p, compact=compact)
        if not any(p.result.has_changes for p in plans):
            for p in plans:  # nothing to release; still record what a crashed apply left
                reconcile(st, tg, p.tenant, p.env)
            if as_json:
                jsondoc.write({"applied": applied})
            return
        _confirm(auto_approve, risky=any(p.result.risks for p in plans))
        for i, p in enumerate(plans):
            outcome = apply_plan(
                st,
                tg,
                p,
                message=message,
                expected_base=p.base.version if p.base else 0,
                check_base=True,
                saved_plan=saved,
            )
            if outcome.release is None:
                if not as_json:
                    c.print(f"{p.tenant} ({p.env}): no changes; no release created.")
            else:
                r = outcome.release
                if as_json:
                    applied[i]["release"] = {"version": r.version, "snapshot": r.snapshot_id}
                    applied[i]["published_to"] = outcome.published_to
                else:
                    c.print(
                        f"[green]Applied[/] {p.tenant} ({p.env}) version {r.version} → {r.snapshot_id[:19]}…, published to {escape(outcome.published_to)}"
                    )
    if as_json:
        jsondoc.write({"applied": applied})


def _confirm(auto_approve: bool, risky: bool) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        fail(
            "apply needs confirmation but there is no terminal",
            "re-run with --auto-approve (e.g. in CI)",
        )
    prompt = "These changes carry the risks above. Apply them?" if risky else "Apply these changes?"
    if not typer.confirm(prompt, default=False):
        fail("apply cancelled; nothing was changed")


@app.command("rollback")
def rollback_cmd(
    tenant: TenantRequiredOpt,
    to: Annotated[
        int, typer.Option("--to", help="Release version whose snapshot becomes live again.")
    ],
    env: EnvOpt = "dev",
    store: StoreOpt = None,
    target: TargetOpt = None,
    auto_approve: AutoApproveOpt = False,
    message: Annotated[str, typer.Option("--message", "-m")] = "",
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show what the rollback would change; change nothing."),
    ] = False,
    fmt: FormatOpt = "text",
) -> None:
    """Release an earlier version's snapshot again, as a new version (no recompilation)."""
    from focalctl.cli.releases import release_diff_json, render_release_diff
    from focalctl.release import rollback
    from focalctl.releases import rollback_plan

    as_json = fmt == "json"
    if as_json and not (auto_approve or dry_run):
        fail(
            "--format json cannot ask for confirmation",
            "add --auto-approve, or --dry-run to see the rollback's plan as JSON",
            code=EXIT_USAGE,
        )
    c = console(stderr=as_json)
    _check_lock_ttl()
    with _world(store, target) as (st, tg):
        plan = rollback_plan(st, tenant, env, to)  # reads only
        doc: dict[str, Any] = {
            "tenant": tenant,
            "env": env,
            "from_version": plan.old.version,
            "to_version": to,
            "dry_run": dry_run,
            "plan": release_diff_json(plan),
            "release": None,
            "published_to": None,
        }
        if not as_json:
            c.print(
                f"Roll back {tenant} ({env}) from version {plan.old.version} to the snapshot of version {to}.\n"
            )
            render_release_diff(plan, verb="Rollback")
        if dry_run:
            if as_json:
                jsondoc.write(doc)
            else:
                c.print("\nDry run: nothing was changed.")
            return
        _confirm(auto_approve, risky=bool(plan.result.risks))
        outcome = rollback(st, tg, tenant, env, to, message=message)
    assert outcome.release is not None
    r = outcome.release
    if as_json:
        doc["release"] = {"version": r.version, "snapshot": r.snapshot_id}
        doc["published_to"] = outcome.published_to
        jsondoc.write(doc)
        return
    c.print(
        f"[green]Rolled back[/] {tenant} ({env}): version {r.version} → {r.snapshot_id[:19]}… (= version {to}), published to {escape(outcome.published_to)}"
    )


@app.command()
def history(
    tenant: TenantRequiredOpt,
    env: EnvOpt = "dev",
    store: StoreOpt = None,
    target: TargetOpt = None,
    fmt: FormatOpt = "text",
    as_json: JsonOpt = False,
) -> None:
    """List the releases of a tenant in an environment, with the git commit each came from."""
    from rich.table import Table

    from focalctl.release import TargetAhead, settled

    as_json = output_format(fmt, as_json) == "json"
    with _world(store, target) as (st, tg):
        try:
            current = settled(st, tg, tenant, env)  # reads only
        except TargetAhead as exc:  # the store's history is still worth reading
            err = console(stderr=True)
            err.print(f"[bold yellow]warning[/]: {escape(str(exc))}")
            if exc.hint:
                err.print(f"  [cyan]help[/]: {escape(exc.hint)}")
            current = st.active(tenant, env)
        releases = st.history(tenant, env)
        if current is not None and all(r.version != current.version for r in releases):
            releases.append(current)  # live, not yet recorded as published: the next apply does
    active = current.version if current is not None else None
    if as_json:
        jsondoc.write(
            {
                "tenant": tenant,
                "env": env,
                "active": active,
                "releases": [{**r.to_json(), "active": r.version == active} for r in releases],
            }
        )
        return
    if not releases:
        console().print(f"{tenant} ({env}) has no releases yet.")
        return
    # the git columns only when some release came from a git work tree (narrow terminals);
    # free text wraps rather than being cut short
    git = any(r.git_commit for r in releases)
    table = Table(title=f"{tenant} ({env})")
    for header in ("", "version", "snapshot", "kind", "created (UTC)", "author"):
        table.add_column(header)
    if git:
        table.add_column("commit", overflow="fold")
        table.add_column("commit author", overflow="fold")
    table.add_column("message", overflow="fold")
    for r in releases:
        kind = r.kind + (f" → {r.rollback_of}" if r.rollback_of else "")
        commit = (escape(r.git_commit or ""), escape(r.git_author or "")) if git else ()
        table.add_row(
            "*" if r.version == active else "",
            str(r.version),
            r.snapshot_id[:19] + "…",
            kind,
            f"{r.created_at:%Y-%m-%d %H:%M:%S}",
            escape(r.author),
            *commit,
            escape(r.message),  # free text: "[/x]" must print, not parse as markup
        )
    console().print(table)
    if active is not None:
        console().print(f"* active: version {active}")


def git_shown(r: Release) -> str:
    """The commit a release came from and its author, in words ("" when not recorded)."""
    if not r.git_commit:
        return ""
    return f"{r.git_commit} by {r.git_author}" if r.git_author else r.git_commit


@app.command("force-unlock")
def force_unlock(
    lock_id: Annotated[
        str,
        typer.Argument(
            help="The lock id that apply's error message names.",
            callback=check_lock_id_argument,
        ),
    ],
    store: StoreOpt = None,
) -> None:
    """Remove a stuck lock (after a crashed apply), like terraform force-unlock."""
    with _world(store, None) as (st, _):
        tenant, env, holder = st.force_unlock(lock_id)
    console().print(f"Removed lock {lock_id} on {tenant}/{env} (held by {escape(holder)}).")
