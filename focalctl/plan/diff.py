"""Object- and field-level diff of two snapshot bodies.

Objects are keyed ``Kind/name``; steps are objects of their own (``Step/<scenario>/<id>``) so a
step renamed in place shows as ``-/+`` (replace): its id is a stable key, and conversations
sitting on the old id must migrate.

Inside an object, lists are diffed element by element: steps, transitions and tool bindings by
their id, target and tool name (``transitions[to=answer].priority``), other lists by position
(``channels[1]``). A keyed element that appears twice is ``[to=answer#2]`` the second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runtime.spec import SECTIONS

_SECTIONS = {section: kind for kind, section in SECTIONS.items()}  # section -> kind
_MISSING = object()


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One changed field. ``old`` None: added; ``new`` None: removed. ``kind`` "order": the
    keyed elements of the list at ``path`` are the same but in another order (``old`` and
    ``new`` list their keys)."""

    path: str
    old: Any
    new: Any
    kind: str = "value"  # value | order

    @property
    def action(self) -> str:
        if self.kind == "order":
            return "reorder"
        return "create" if self.old is None else "delete" if self.new is None else "update"


@dataclass(frozen=True, slots=True)
class Change:
    action: str  # create | update | delete | replace
    address: str  # Kind/name (for replace: the old address)
    new_address: str | None = None
    fields: tuple[FieldChange, ...] = ()
    # create: the new object's attributes (``spec`` fields at the top, as field paths show them)
    attributes: dict[str, Any] | None = None

    @property
    def symbol(self) -> str:
        return {"create": "+", "update": "~", "delete": "-", "replace": "-/+"}[self.action]


@dataclass(slots=True)
class PlanResult:
    changes: list[Change] = field(default_factory=list)
    risks: list[str] = field(default_factory=list)
    # steps (scenario, id) whose conversations this plan strands (removed or renamed, no move)
    stranded: list[tuple[str, str]] = field(default_factory=list)
    moved: list[tuple[str, str, str]] = field(default_factory=list)  # (scenario, from, to)
    unmarked: list[tuple[str, str]] = field(default_factory=list)  # checkpoints removed
    # live conversations per (scenario, step) in the env's runtime state, when plan read it
    live: dict[tuple[str, str], int] | None = None

    def live_notes(self) -> tuple[list[str], list[str]]:
        """(risks, moves) in words, with the live conversation counts when known."""
        risks, moves = [], []
        for scenario, step in self.stranded:
            n = (self.live or {}).get((scenario, step), 0)
            if n:
                risks.append(
                    f"{n:,} conversation(s) are at step '{step}' of scenario '{scenario}', "
                    "which this plan removes: they restart the scenario"
                )
        for scenario, step in self.unmarked:
            n = (self.live or {}).get((scenario, step), 0)
            if n:
                risks.append(
                    f"{n:,} conversation(s) are at checkpoint '{step}' of scenario "
                    f"'{scenario}', which this plan removes"
                )
        for scenario, old, new in self.moved:
            count = ""
            if self.live is not None:
                count = f" ({self.live.get((scenario, old), 0):,} live conversation(s))"
            moves.append(
                f"step '{old}' of scenario '{scenario}' is now '{new}': conversations on it "
                f"continue there{count}"
            )
        return risks, moves

    @property
    def counts(self) -> tuple[int, int, int]:
        add = sum(c.action in ("create", "replace") for c in self.changes)
        change = sum(c.action == "update" for c in self.changes)
        delete = sum(c.action in ("delete", "replace") for c in self.changes)
        return add, change, delete

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)


def objects(body: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Flatten a snapshot body into ``Kind/name`` → object JSON (steps as their own objects)."""
    return _flatten(body, None)


def _flatten(
    body: dict[str, Any] | None, keep: dict[str, set[str]] | None
) -> dict[str, dict[str, Any]]:
    """``objects(body)``, limited to the tenant and section entries named in ``keep``."""
    if not body:
        return {}
    out: dict[str, dict[str, Any]] = {}
    tenant = body.get("tenant", {})
    if keep is None or "tenant" in keep:
        out[f"Tenant/{tenant.get('name')}"] = {k: v for k, v in tenant.items() if k != "name"}
    for section, kind in _SECTIONS.items():
        entries = body.get(section, {})
        names = sorted(entries) if keep is None else sorted(keep.get(section, set()) & set(entries))
        for name in names:
            entry = entries[name]
            if kind == "Scenario":
                spec = dict(entry.get("spec", {}))
                steps = spec.pop("steps", [])
                out[f"Scenario/{name}"] = {**entry, "spec": spec}
                for position, step in enumerate(steps):
                    out[f"Step/{name}/{step['id']}"] = {**step, "_position": position}
            else:
                out[f"{kind}/{name}"] = entry
    return out


def attributes(obj: dict[str, Any]) -> dict[str, Any]:
    """An object as a plan shows it: its ``spec`` fields beside the others (field paths
    leave out ``spec.`` too), without the diff's own bookkeeping (``_position``)."""
    out = {k: v for k, v in obj.items() if k not in ("spec", "_position")}
    spec = obj.get("spec")
    if isinstance(spec, dict):
        out.update(spec)
    elif "spec" in obj:
        out["spec"] = spec
    return out


def _differing(base: dict[str, Any] | None, candidate: dict[str, Any]) -> dict[str, set[str]]:
    """The tenant and the section entries that are not equal in both bodies (compared whole,
    so a large snapshot with a few changes is diffed in time proportional to the changes)."""
    base = base or {}
    out: dict[str, set[str]] = {}
    if base.get("tenant") != candidate.get("tenant"):
        out["tenant"] = set()
    for section in _SECTIONS:
        old, new = base.get(section, {}), candidate.get(section, {})
        changed = {
            n for n in old.keys() | new.keys() if old.get(n, _MISSING) != new.get(n, _MISSING)
        }
        if changed:
            out[section] = changed
    return out


def diff(base: dict[str, Any] | None, candidate: dict[str, Any]) -> PlanResult:
    keep = _differing(base, candidate)
    old, new = _flatten(base, keep), _flatten(candidate, keep)
    result = PlanResult()
    removed = sorted(set(old) - set(new))
    added = sorted(set(new) - set(old))
    replaced: dict[str, str] = {}
    for address in removed:
        if not address.startswith("Step/"):
            continue
        scenario = address.rsplit("/", 1)[0]
        twin = next(
            (
                a
                for a in added
                if a.rsplit("/", 1)[0] == scenario
                and a not in replaced.values()
                and new[a].get("_position") == old[address].get("_position")
            ),
            None,
        )
        if twin is not None:
            replaced[address] = twin
    for address in sorted(set(old) | set(new)):
        if address in replaced:
            fields = tuple(
                f
                for f in _fields(old[address], new[replaced[address]])
                if f.path not in ("id", "_position")
            )
            result.changes.append(Change("replace", address, replaced[address], fields))
        elif address in replaced.values():
            continue
        elif address not in old:
            result.changes.append(Change("create", address, attributes=attributes(new[address])))
        elif address not in new:
            result.changes.append(Change("delete", address))
        elif old[address] != new[address]:
            fields = tuple(f for f in _fields(old[address], new[address]) if f.path != "_position")
            if fields:
                result.changes.append(Change("update", address, None, fields))
    result.changes.sort(key=lambda c: (_ORDER.get(c.address.split("/", 1)[0], 9), c.address))
    result.risks = risks(old, new, result.changes, result)
    return result


_ORDER = {
    "Tenant": 0,
    "ChannelProfile": 1,
    "ToolEffect": 2,
    "Offering": 3,
    "Scenario": 4,
    "Step": 5,
    "Goal": 6,
    "Agent": 7,
}


# The key of each element of a list named so (a step tool binding is a dict with ``tool``; an
# agent's tools are the names themselves).
_LIST_KEYS = {"steps": "id", "transitions": "to", "tools": "tool"}


def _fields(old: Any, new: Any, prefix: str = "") -> list[FieldChange]:
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[FieldChange] = []
        for key in sorted(set(old) | set(new)):
            path = f"{prefix}.{key}" if prefix else str(key)
            out.extend(_fields(old.get(key, _MISSING), new.get(key, _MISSING), path))
        return out
    if isinstance(old, list) and isinstance(new, list) and old != new:
        return _list_fields(old, new, prefix)
    if old == new:
        return []
    return [
        FieldChange(
            _shown(prefix),
            None if old is _MISSING else old,
            None if new is _MISSING else new,
        )
    ]


def _shown(path: str) -> str:
    return path.removeprefix("spec.")


def _list_fields(old: list[Any], new: list[Any], prefix: str) -> list[FieldChange]:
    """Element by element: by key for the lists in ``_LIST_KEYS``, else by position."""
    key = _LIST_KEYS.get(prefix.rsplit(".", 1)[-1])
    old_keys, new_keys = _element_keys(old, key), _element_keys(new, key)
    if old_keys is None or new_keys is None:
        out: list[FieldChange] = []
        for i in range(max(len(old), len(new))):
            before = old[i] if i < len(old) else _MISSING
            after = new[i] if i < len(new) else _MISSING
            out.extend(_fields(before, after, f"{prefix}[{i}]"))
        return out
    before_by, after_by = (
        dict(zip(old_keys, old, strict=True)),
        dict(zip(new_keys, new, strict=True)),
    )
    out = []
    for k in old_keys:
        if k not in after_by:
            out.extend(_fields(before_by[k], _MISSING, f"{prefix}[{k}]"))
    for k in new_keys:
        out.extend(_fields(before_by.get(k, _MISSING), after_by[k], f"{prefix}[{k}]"))
    kept_before = [k for k in old_keys if k in after_by]
    kept_after = [k for k in new_keys if k in before_by]
    if kept_before != kept_after:
        out.append(FieldChange(_shown(prefix), kept_before, kept_after, kind="order"))
    return out


def _element_keys(items: list[Any], key: str | None) -> list[str] | None:
    """``key=value`` for each element (``#2``, ``#3`` for repeats), or None when an element
    has no such key (the list is then diffed by position)."""
    if key is None:
        return None
    out: list[str] = []
    seen: dict[str, int] = {}
    for item in items:
        value = item.get(key) if isinstance(item, dict) else item if key == "tool" else None
        if not isinstance(value, str):
            return None
        seen[value] = seen.get(value, 0) + 1
        out.append(f"{key}={value}" + (f"#{seen[value]}" if seen[value] > 1 else ""))
    return out


def risks(
    old: dict[str, dict[str, Any]],
    new: dict[str, dict[str, Any]],
    changes: list[Change],
    result: PlanResult | None = None,
) -> list[str]:
    """Changes users must not miss, in plain words. A removed or renamed step that its
    scenario's ``moved`` covers is a move (``result.moves``), not a risk; the others are
    recorded in ``result.stranded`` for live-conversation counts."""
    notes: list[str] = []
    for c in changes:
        kind = c.address.split("/", 1)[0]
        before = old.get(c.address, {})
        after = new.get(c.new_address or c.address, {})
        if kind == "Step" and c.action in ("delete", "replace"):
            scenario, step = c.address.split("/")[1:]
            moves = {
                m["from"]: m["to"]
                for m in new.get(f"Scenario/{scenario}", {}).get("spec", {}).get("moved", [])
            }
            if step in moves:
                if result is not None:
                    result.moved.append((scenario, step, moves[step]))
            else:
                if result is not None:
                    result.stranded.append((scenario, step))
                if c.action == "replace":
                    new_id = (c.new_address or "").rsplit("/", 1)[-1]
                    notes.append(
                        f"step '{step}' of scenario '{scenario}' is renamed to '{new_id}': "
                        "conversations on it must migrate (declare it in the scenario's moved)"
                    )
                else:
                    notes.append(
                        f"step '{step}' of scenario '{scenario}' is removed: conversations on it must migrate"
                    )
            if before.get("checkpoint") and not (c.action == "replace" and after.get("checkpoint")):
                notes.append(f"checkpoint '{step}' of scenario '{scenario}' is removed")
        if (
            kind == "Step"
            and c.action == "update"
            and before.get("checkpoint")
            and not after.get("checkpoint")
        ):
            scenario, step = c.address.split("/")[1:]
            notes.append(
                f"checkpoint '{step}' of scenario '{scenario}' is removed: the step is no longer a point of no return"
            )
            if result is not None:
                result.unmarked.append((scenario, step))
        if kind == "ToolEffect" and c.action == "update":
            name = c.address.split("/", 1)[1]
            b, a = before.get("spec", {}), after.get("spec", {})
            if a.get("effect") == "irreversible" and b.get("effect") != "irreversible":
                notes.append(f"tool '{name}' becomes irreversible (was {b.get('effect')})")
            if b.get("confirmation", {}).get("required") and not a.get("confirmation", {}).get(
                "required"
            ):
                notes.append(f"tool '{name}' no longer requires confirmation")
        if kind == "ChannelProfile" and c.action == "update":
            name = c.address.split("/", 1)[1]
            if before.get("spec", {}).get("capabilities", {}).get("outbound") and not after.get(
                "spec", {}
            ).get("capabilities", {}).get("outbound"):
                notes.append(f"channel '{name}' can no longer send outbound messages")
    return notes
