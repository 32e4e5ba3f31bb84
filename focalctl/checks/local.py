"""The checks that still run on a document whose schema check failed.

One bad value must not hide other problems: ``at: befor`` in one tool binding makes the
scenario invalid, so it is never built and the object checks skip it, but its duplicate step
ids, its duplicate bindings and its templates are problems of their own that the user would
otherwise meet one fix later. These checks read only the document's raw data (what the
checks of a valid object read through its model), defensively, since that data failed its
schema: a value of the wrong type is skipped, never guessed at. They need nothing but the
document, so they run as its file is loaded and are cached with the file.

- FOC802 between a scenario document's own inline steps (standalone ``kind: Step`` documents
  are counted once the scenario is valid);
- FOC803 within each step's tool bindings;
- FOC701-FOC704 on every template and expression, as :mod:`focalctl.checks.templates`
  (without the did-you-mean to a slot of another scenario, which needs the bundle).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from focalctl.bundle.loader import Document
from focalctl.checks import templates
from focalctl.diagnostics import Diagnostic


def scan(doc: Document) -> Iterator[Diagnostic]:
    kind, data = str(doc.kind), doc.data
    spec = data.get("spec") if isinstance(data, dict) else None
    if not isinstance(spec, dict):
        return
    if kind == "Scenario":
        steps = spec.get("steps")
        steps = steps if isinstance(steps, list) else []
        seen: set[str] = set()
        scenario = _name(data)
        for i, step in enumerate(steps):
            sid = step.get("id") if isinstance(step, dict) else None
            if isinstance(sid, str):
                if sid in seen:
                    yield doc.diag("FOC802", f"/spec/steps/{i}/id", step=sid, scenario=scenario)
                seen.add(sid)
    yield from duplicate_bindings(doc)
    yield from templates.texts(kind, data, doc.diag)


def duplicate_bindings(doc: Document) -> Iterator[Diagnostic]:
    """FOC803 for every step written in ``doc`` (a scenario's inline steps, or a ``kind:
    Step``), from its raw data: the one implementation, for valid and invalid documents."""
    spec = doc.data.get("spec") if isinstance(doc.data, dict) else None
    if not isinstance(spec, dict):
        return
    if str(doc.kind) == "Scenario":
        steps = spec.get("steps")
        for i, step in enumerate(steps if isinstance(steps, list) else []):
            yield from _bindings(doc, step, f"/spec/steps/{i}")
    elif str(doc.kind) == "Step":
        yield from _bindings(doc, spec, "/spec")


def _bindings(doc: Document, step: Any, base: str) -> Iterator[Diagnostic]:
    if not isinstance(step, dict) or not isinstance(step.get("tools"), list):
        return
    sid = step.get("id") if isinstance(step.get("id"), str) else "?"
    tools: set[str] = set()
    for i, binding in enumerate(step["tools"]):
        tool = binding.get("tool") if isinstance(binding, dict) else None
        if not isinstance(tool, str):
            continue
        if tool in tools:
            yield doc.diag("FOC803", f"{base}/tools/{i}/tool", step=sid, tool=tool)
        tools.add(tool)


def _name(data: dict[str, Any]) -> str:
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return name if isinstance(name, str) else "?"
