"""``focalctl report``: what the audit stream says about the conversations."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from focalctl import jsondoc
from focalctl.cli.app import app
from focalctl.cli.common import EXIT_USAGE, console, fail
from focalctl.cli.options import FormatOpt, JsonOpt, StateOpt, TenantOpt, output_format


@app.command()
def report(
    audit: Annotated[
        Path | None,
        typer.Option("--audit", help="An audit stream as JSON Lines (simulate --out writes one)."),
    ] = None,
    state: StateOpt = None,
    tenant: TenantOpt = None,
    stream: Annotated[
        str, typer.Option("--stream", help="With --state: live or simulated.")
    ] = "live",
    since: Annotated[
        str | None, typer.Option("--since", help="Only events on or after this day (YYYY-MM-DD).")
    ] = None,
    fmt: FormatOpt = "text",
    as_json: JsonOpt = False,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Also write a self-contained HTML report with charts."),
    ] = None,
) -> None:
    """Summarise the runtime's audit: turns, drop-off, tools, follow-ups and anomalies.

    Turns per scenario, drop-off per step, tool calls and failures, follow-ups, fallbacks,
    duplicates and rate limits; per day, with anomalies beyond 3 standard deviations."""
    from focalctl import report as lib

    as_json = output_format(fmt, as_json) == "json"
    if (audit is None) == (state is None):
        fail("read the audit from one place", "--audit FILE.jsonl or --state URL", code=EXIT_USAGE)
    day = None
    if since is not None:
        try:
            day = date.fromisoformat(since)
        except ValueError:
            fail(f"--since {since!r} is not a day", "e.g. --since 2026-03-01", code=EXIT_USAGE)
    if audit is not None and not audit.is_file():
        fail(f"{audit} is not a file", "pass the JSON Lines file", code=EXIT_USAGE)
    if state is not None and tenant is None:
        fail("--state needs --tenant", "e.g. --tenant acme", code=EXIT_USAGE)
    try:
        if audit is not None:
            result = lib.build(lib.read_jsonl(audit), tenant=tenant, since=day)
        else:
            assert state is not None and tenant is not None
            result = lib.build(lib.read_state(state, tenant, stream), since=day)
    except ValueError as exc:
        fail(str(exc), "each line is one event as the runtime writes it")
    except Exception as exc:  # the state's driver: unreachable, refused
        fail(f"cannot read the audit: {type(exc).__name__}", "check --state and that it answers")
    if html is not None:
        try:
            html.write_text(lib.html(result), encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {html}: {exc.strerror or exc}", "choose a writable --html path")
    if as_json:
        jsondoc.write(result.to_json())
        return
    _text(result)
    if html is not None:
        console().print(f"[dim]HTML report written to {escape(str(html))}[/]")


def _text(r: object) -> None:
    from focalctl.report import Report

    assert isinstance(r, Report)
    c = console()
    c.print(
        f"[bold]{r.events}[/] audit events" + (f" since {escape(str(r.since))}" if r.since else "")
    )
    turns = Table("scenario", "turns", title="Turns per scenario")
    for scenario, n in sorted(r.turns.items()):
        turns.add_row(escape(scenario), str(n))
    c.print(turns)
    for scenario, steps in sorted(r.funnels.items()):
        funnel = Table("step", "conversations", "drop-off", title=f"Funnel: {escape(scenario)}")
        first = steps[0][1] if steps else 0
        for step, n in steps:
            drop = f"{1 - n / first:.0%}" if first else "-"
            funnel.add_row(escape(step), str(n), drop)
        c.print(funnel)
    tools = Table("tool", "calls", "succeeded", "failed", "replayed", "refused", title="Tools")
    for tool, counts in sorted(r.tools.items()):
        tools.add_row(
            escape(tool),
            *(
                str(counts.get(k, 0))
                for k in ("calls", "succeeded", "failed", "replayed", "refused")
            ),
        )
    c.print(tools)
    if r.follow_ups:
        c.print("Follow-ups: " + ", ".join(f"{k} {v}" for k, v in sorted(r.follow_ups.items())))
    if r.fallbacks:
        c.print(
            "Fallbacks (failed hops per profile): "
            + ", ".join(f"{escape(k)} {v}" for k, v in sorted(r.fallbacks.items()))
        )
    c.print(f"Duplicates dropped: {r.duplicates}; rate-limited requests: {r.rate_limited}")
    for a in r.anomalies:
        c.print(
            f"[red]![/] {a.day}: {escape(a.metric)} of {escape(a.subject)} was {a.value:.0%} "
            f"(trailing mean {a.mean:.0%}, σ {a.stdev:.1%})"
        )
