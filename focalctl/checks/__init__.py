"""Checks: one module per invariant family; each yields Diagnostics and none renders.

A check reports against a document and a JSON pointer (``make(code, pointer=..., document=...)``
with ``file`` set to the document's file); :func:`run_checks` turns every pointer into
file:line:col with :func:`focalctl.bundle.positions.locate`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from focalctl.bundle import Bundle
from focalctl.bundle.positions import locate
from focalctl.diagnostics import Diagnostic

Check = Callable[[Bundle], Iterable[Diagnostic]]


def _registered() -> list[Check]:
    from focalctl.checks import (
        bindings,
        channels,
        graph,
        references,
        safety,
        secrets,
        settings,
        templates,
        uniqueness,
    )

    return [
        uniqueness.check,
        references.check,
        graph.check,
        bindings.check,
        safety.check,
        secrets.check,
        channels.check,
        templates.check,
        settings.check,
    ]


CHECKS: list[Check] = _registered()


def run_checks(bundle: Bundle) -> list[Diagnostic]:
    docs = {(f.path, d.index): d for f in bundle.files for d in f.documents}
    out: list[Diagnostic] = []
    for check in CHECKS:
        for diag in check(bundle):
            doc = docs.get((diag.file or "", diag.document if diag.document is not None else -1))
            out.append(locate(doc, diag) if doc is not None else diag)
    return out
