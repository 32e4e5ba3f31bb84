"""Views of a plan: Terraform-like text and a versioned JSON document."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from focalctl.plan.diff import Change, PlanResult

if TYPE_CHECKING:
    from focalctl.release import TenantPlan

_STYLE = {"create": "green", "update": "yellow", "delete": "red", "replace": "magenta"}


def _value(v: Any) -> str:
    text = json.dumps(v, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 70 else text[:67] + "..."


def render_text(console: Console, plan: TenantPlan, *, show_unchanged: bool = False) -> None:
    base = (
        f"version {plan.base.version} ({plan.base.snapshot_id[:19]}…)"
        if plan.base
        else "nothing released yet"
    )
    console.print(
        f"[bold]Tenant {plan.tenant}[/] (env {plan.env}): candidate {plan.candidate.id[:19]}… against {base}"
    )
    if not plan.result.has_changes:
        if plan.base is None:
            console.print("\nNo changes.")
        else:
            console.print(
                f"\n[green]No changes.[/] {plan.tenant} ({plan.env}) is up to date at version {plan.base.version}."
            )
        return
    console.print()
    render_result(console, plan.result)


def render_result(console: Console, result: PlanResult, *, verb: str = "Plan") -> None:
    """The changes, the risk notes and the counts: what every plan-shaped view shows (plan,
    apply, rollback, diff between releases)."""
    for change in result.changes:
        _change(console, change)
    live_risks, moves = result.live_notes()
    if moves:
        console.print("\n[bold]Moves[/] (declared in the scenarios' moved):")
        for note in moves:
            console.print(f"  [cyan]→[/] {escape(note)}")
    if result.risks or live_risks:
        console.print("\n[bold red]Risks[/] (review before applying):")
        for note in [*live_risks, *result.risks]:
            console.print(f"  [red]![/] {escape(note)}")
    n_add, n_change, n_delete = result.counts
    console.print(f"\n[bold]{verb}:[/] {n_add} to add, {n_change} to change, {n_delete} to delete.")


def _change(console: Console, c: Change) -> None:
    style = _STYLE[c.action]
    target = f" → {c.new_address}" if c.new_address else ""
    console.print(f"  [{style}]{c.symbol:>3}[/] {escape(c.address)}{escape(target)}")
    for f in c.fields:
        if f.old is None:
            console.print(f"        [green]+[/] {escape(f.path)}: {escape(_value(f.new))}")
        elif f.new is None:
            console.print(f"        [red]-[/] {escape(f.path)}: {escape(_value(f.old))}")
        else:
            console.print(
                f"        [yellow]~[/] {escape(f.path)}: {escape(_value(f.old))} → {escape(_value(f.new))}"
            )


def plan_json(plan: TenantPlan) -> dict[str, Any]:
    return {
        "format_version": "1.0",
        "tenant": plan.tenant,
        "env": plan.env,
        "base": {"version": plan.base.version, "snapshot": plan.base.snapshot_id}
        if plan.base
        else None,
        "candidate": {"snapshot": plan.candidate.id, "objects": plan.candidate.object_count},
        **result_json(plan.result),
    }


def result_json(result: PlanResult) -> dict[str, Any]:
    """``changes``, ``risks`` and ``summary``: the JSON of every plan-shaped document."""
    add, change, delete = result.counts
    return {
        "changes": [
            {
                "action": c.action,
                "address": c.address,
                "new_address": c.new_address,
                "fields": [{"path": f.path, "old": f.old, "new": f.new} for f in c.fields],
            }
            for c in result.changes
        ],
        "risks": [*result.live_notes()[0], *result.risks],
        "moves": [
            {
                "scenario": s,
                "from": a,
                "to": b,
                "live": None if result.live is None else result.live.get((s, a), 0),
            }
            for s, a, b in result.moved
        ],
        "live": None
        if result.live is None
        else [
            {"scenario": s, "step": st, "conversations": result.live.get((s, st), 0)}
            for s, st in result.stranded
        ],
        "summary": {"add": add, "change": change, "delete": delete},
    }
