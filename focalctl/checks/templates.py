"""Invariant 9: every template and ``when`` expression parses in the sandbox, reaches for no
private attribute, and uses only variables the runtime provides.

Bad::

    say: "Hi {{ profil.first_name }}"        # FOC704: did you mean 'profile'?
    when: "intent = 'refund'"                # FOC702

Good::

    say: "Hi {{ profile.first_name }}"
    when: "intent == 'refund'"
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from typing import Any, Protocol

from focalctl.bundle import BundleObject
from focalctl.bundle.positions import pointer
from focalctl.bundle.view import View
from focalctl.checks.slotflow import tenant_slots
from focalctl.diagnostics import Diagnostic
from focalctl.diagnostics.suggest import did_you_mean
from focalctl.templating import (
    CONTEXT_VARS,
    parse_expression,
    parse_template,
)
from runtime.spec import PHASES


class MakeDiag(Protocol):
    """``BundleObject.diag`` or ``Document.diag``: a diagnostic at a JSON pointer."""

    def __call__(
        self, code: str, pointer: str, *, target: str = ..., hint: str | None = ..., **params: Any
    ) -> Diagnostic: ...


# (path pattern, context) per kind; "*" matches any list index or map key.
_SETTINGS = [(("llm", "systemPrompt"), "template"), (("persona",), "template")]
_STEP: list[tuple[tuple[str, ...], str]] = [
    (("say",), "turn"),
    (("say", "*"), "turn"),
    (("transitions", "*", "when"), "expression"),
    (("tools", "*", "when"), "expression"),
    (("tools", "*", "args", "*"), "turn"),
    (("collects", "*", "prompt"), "turn"),
    *((("settings", *p), c) for p, c in _SETTINGS),
]
FIELDS: dict[str, list[tuple[tuple[str, ...], str]]] = {
    "Tenant": [(("defaults", *p), c) for p, c in _SETTINGS],
    "Agent": [(("settings", *p), c) for p, c in _SETTINGS],
    "Scenario": [
        (("entry", "when"), "expression"),
        *((("settings", *p), c) for p, c in _SETTINGS),
        *((("steps", "*", *p), c) for p, c in _STEP),
    ],
    "Step": _STEP,
    "ToolEffect": [(("gateway", "endpoint"), "args"), (("confirmation", "prompt"), "args")],
    "ChannelProfile": [
        (("format", "greeting"), "template"),
        (("format", "signature"), "template"),
        *((("settings", *p), c) for p, c in _SETTINGS),
    ],
    "Goal": [(("message",), "template"), (("when",), "expression")],
}


def check(view: View, obj: BundleObject) -> Iterator[Diagnostic]:
    yield from texts(obj.kind, obj.doc.data, obj.diag, lambda: tenant_slots(view, obj.tenant))


def texts(
    kind: str, data: Any, diag: MakeDiag, slots: Callable[[], Collection[str]] = tuple
) -> Iterator[Diagnostic]:
    """The problems of every template and expression in one document's ``data``. It reads
    the raw data, so it runs on a document that failed its schema check too (without the
    bundle: ``slots``, the tenant's slot names for a did-you-mean, is then empty)."""
    spec = data.get("spec") if isinstance(data, dict) else None
    for pattern, context in FIELDS.get(kind, []):
        for path, value in matches(spec, pattern):
            if isinstance(value, str) and not old_phase(path, value):
                yield from _text(diag, ("spec", *path), value, context, slots)


def old_phase(path: tuple[str | int, ...], value: str) -> bool:
    """``when: before`` on a binding is the old phase key, reported once as FOC211."""
    return len(path) >= 3 and path[-3] == "tools" and path[-1] == "when" and value in PHASES


def matches(data: Any, pattern: tuple[str, ...]) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    if not pattern:
        yield (), data
        return
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        items: list[tuple[str | int, Any]] = (
            list(enumerate(data))
            if isinstance(data, list)
            else list(data.items())
            if isinstance(data, dict)
            else []
        )
    elif isinstance(data, dict) and head in data:
        items = [(head, data[head])]
    else:
        items = []
    for key, child in items:
        for sub, value in matches(child, rest):
            yield (key, *sub), value


def _text(
    diag: MakeDiag,
    path: tuple[str | int, ...],
    source: str,
    context: str,
    slots: Callable[[], Collection[str]],
) -> Iterator[Diagnostic]:
    allowed = CONTEXT_VARS[context]
    parsed = (
        parse_expression(source, allowed)
        if context == "expression"
        else parse_template(source, allowed)
    )
    ptr = pointer(path)
    what = f"{'expression' if context == 'expression' else 'template'} at {'.'.join(str(p) for p in path)}"
    for issue in parsed.issues:
        if issue.kind == "syntax":
            code = "FOC702" if context == "expression" else "FOC701"
            yield diag(code, ptr, message=issue.message)
        elif issue.kind == "unsafe":
            yield diag("FOC703", ptr, what=what, attr=issue.name)
        else:
            hint = (
                f"did you mean 'slots.{issue.name}'?"
                if issue.name in slots()
                else did_you_mean(issue.name, allowed) or f"available: {', '.join(sorted(allowed))}"
            )
            yield diag(
                "FOC704", ptr, target=f"span:{issue.name}", what=what, name=issue.name, hint=hint
            )
