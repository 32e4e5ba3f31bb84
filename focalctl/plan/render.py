"""Views of a plan: Terraform-like text and a versioned JSON document."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from focalctl.plan.diff import Change, FieldChange, PlanResult

if TYPE_CHECKING:
    from focalctl.plan.tenant import TenantPlan

_STYLE = {"create": "green", "update": "yellow", "delete": "red", "replace": "magenta"}


_INLINE = 70  # a list of scalars prints on one line up to this many characters
_LONG = 100  # an update whose two sides are longer than this prints them on lines of their own


def _value(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, sort_keys=True)


def _inline(v: Any) -> bool:
    """A scalar, an empty container, or a short list of scalars: one line (never truncated)."""
    if isinstance(v, dict):
        return not v
    if isinstance(v, list):
        return not any(isinstance(x, dict | list) for x in v) and len(_value(v)) <= _INLINE
    return True


def block(value: Any, indent: int) -> list[str]:
    """``value`` one field per line, nested like YAML, scalars as JSON (plain text: escape
    before printing with markup)."""
    pad = " " * indent
    if _inline(value):
        return [pad + _value(value)]
    out: list[str] = []
    if isinstance(value, dict):
        for key in sorted(value):
            out.extend(_entry(f"{key}:", value[key], indent))
        return out
    for item in value:
        if isinstance(item, dict | list) and not _inline(item):
            lines = block(item, indent + 2)
            out.extend([pad + "- " + lines[0][indent + 2 :], *lines[1:]])
        else:
            out.append(f"{pad}- {_value(item)}")
    return out


def _entry(label: str, value: Any, indent: int) -> list[str]:
    if _inline(value):
        return [f"{' ' * indent}{label} {_value(value)}"]
    return [" " * indent + label, *block(value, indent + 2)]


def render_text(console: Console, plan: TenantPlan, *, compact: bool = False) -> None:
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
    render_result(console, plan.result, compact=compact)


def render_result(
    console: Console, result: PlanResult, *, verb: str = "Plan", compact: bool = False
) -> None:
    """The changes, the risk notes and the counts: what every plan-shaped view shows (plan,
    apply, rollback, diff between releases). ``compact``: the addresses only."""
    for change in result.changes:
        _change(console, change, compact)
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


def _change(console: Console, c: Change, compact: bool) -> None:
    style = _STYLE[c.action]
    target = f" → {c.new_address}" if c.new_address else ""
    console.print(f"  [{style}]{c.symbol:>3}[/] {escape(c.address)}{escape(target)}")
    if compact:
        return
    if c.attributes:
        for line in block(c.attributes, 8):
            console.print(escape(line))
    for f in c.fields:
        _field(console, f)


def _field(console: Console, f: FieldChange) -> None:
    path = escape(f.path)
    if f.kind == "order":
        order = f"{', '.join(f.old)} → {', '.join(f.new)}"
        console.print(f"        [yellow]~[/] {path} (order): {escape(order)}")
    elif f.old is None or f.new is None:
        sign, style, value = ("+", "green", f.new) if f.old is None else ("-", "red", f.old)
        if _inline(value):
            console.print(f"        [{style}]{sign}[/] {path}: {escape(_value(value))}")
        else:
            console.print(f"        [{style}]{sign}[/] {path}:")
            for line in block(value, 12):
                console.print(escape(line))
    elif _inline(f.old) and _inline(f.new) and len(_value(f.old) + _value(f.new)) <= _LONG:
        console.print(
            f"        [yellow]~[/] {path}: {escape(_value(f.old))} → {escape(_value(f.new))}"
        )
    else:
        console.print(f"        [yellow]~[/] {path}:")
        for sign, style, value in (("-", "red", f.old), ("+", "green", f.new)):
            lines = block(value, 14)
            console.print(f"            [{style}]{sign}[/] {escape(lines[0][14:])}")
            for line in lines[1:]:
                console.print(escape(line))


def plan_json(plan: TenantPlan) -> dict[str, Any]:
    """A plan's JSON body (``focalctl.jsondoc`` stamps its version): list fields are diffed
    element by element (``transitions[to=answer].priority``), each field has an ``action``,
    and a create lists the new object's ``attributes``."""
    return {
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
                "fields": [
                    {"path": f.path, "action": f.action, "old": f.old, "new": f.new}
                    for f in c.fields
                ],
                "attributes": c.attributes,
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
