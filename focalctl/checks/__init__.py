"""Checks: one module per invariant family; each yields Diagnostics and none renders.

Each family exposes ``check(view, obj)``: the diagnostics about one object, reading the rest of
the bundle only through the :class:`~focalctl.bundle.view.View` (which records what was read,
so :mod:`focalctl.partial` can reuse the result while none of it changes). A check reports
against a document and a JSON pointer (``obj.diag(code, pointer)``); :func:`run_checks` turns
every pointer into file:line:col with :func:`focalctl.bundle.positions.locate`.

Document-local checks (:data:`DOCUMENT_CHECKS`) run as a file is loaded: the literal-secret
scan on every document, valid or not, and :mod:`~focalctl.checks.local` (duplicate step ids
and bindings, templates) on a document whose schema check failed, so that one bad value does
not hide its other problems.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

from focalctl.bundle import Bundle, BundleObject, DocChecks, ObjectRef
from focalctl.bundle.positions import locate
from focalctl.bundle.view import View
from focalctl.checks import (
    bindings,
    channels,
    goals,
    graph,
    local,
    names,
    references,
    safety,
    secrets,
    settings,
    templates,
    uniqueness,
)
from focalctl.diagnostics import Diagnostic
from focalctl.partial.memo import Memo, unit_fingerprint

Check = Callable[[View, BundleObject], Iterable[Diagnostic]]

CHECKS: list[Check] = [
    uniqueness.check,
    references.check,
    graph.check,
    bindings.check,
    safety.check,
    channels.check,
    goals.check,
    templates.check,
    names.check,
    settings.check,
]
DUPLICATE_CHECKS: list[Check] = [uniqueness.check_duplicate]
DOCUMENT_CHECKS = DocChecks(every=(secrets.scan,), invalid=(local.scan,))


def run_checks(bundle: Bundle, memo: Memo[list[Diagnostic]] | None = None) -> list[Diagnostic]:
    """Every object's diagnostics (duplicates get only FOC801), located, in object order."""
    memo = memo or Memo[list[Diagnostic]](bundle)
    diags: list[Diagnostic] = []
    for ref in bundle.sorted_refs():
        work = partial(_check_unit, bundle, ref, CHECKS)
        diags.extend(
            memo.run((ref.file, ref.document), unit_fingerprint(bundle, ref, "first"), work)
        )
    for ref in bundle.duplicate_refs:
        work = partial(_check_unit, bundle, ref, DUPLICATE_CHECKS)
        diags.extend(memo.run((ref.file, ref.document), unit_fingerprint(bundle, ref, "dup"), work))
    return list(settings.dedupe(diags))


def _check_unit(
    bundle: Bundle, ref: ObjectRef, checks: list[Check], view: View
) -> list[Diagnostic]:
    obj = bundle.object(ref)
    out: list[Diagnostic] = []
    for check in checks:
        for diag in check(view, obj):
            if diag.line is None:
                doc = bundle.document(diag.file or "", diag.document or 0)
                assert doc is not None, f"{diag.code} points at a document that is not loaded"
                diag = locate(doc, diag)
            if diag.file != ref.file:
                view.file(diag.file or "")
            out.append(diag)
    return out
