"""Stages 1 to 3 as one library call: load, model and check a bundle."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from focalctl.bundle import Bundle
from focalctl.bundle.loader import discover
from focalctl.checks import DOCUMENT_CHECKS, run_checks
from focalctl.diagnostics import Diagnostic, Severity, sort_key
from focalctl.gcpause import gc_paused
from focalctl.partial import DIAGNOSTICS, PartialCache


@dataclass(frozen=True, slots=True)
class ValidationResult:
    bundle: Bundle
    diagnostics: list[Diagnostic]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.WARNING]

    def ok(self, strict: bool = False) -> bool:
        return not self.errors and not (strict and self.warnings)


def validate_paths(
    paths: Iterable[str | Path], cache: PartialCache | None = None, *, keep_nodes: bool = True
) -> ValidationResult:
    """Load, model and check everything under ``paths``; diagnostics sorted deterministically.

    With a :class:`~focalctl.partial.PartialCache`, unchanged files and the objects that read
    nothing changed are restored instead of recomputed (the caller saves the cache). Without
    ``keep_nodes`` each file's YAML node trees are dropped once its own checks ran (what only
    reports diagnostics needs positions for a few; the compiler's provenance needs them all).
    """
    cache = cache or PartialCache.off()
    with gc_paused():
        files, diags = discover(paths)
        results = []
        for f, name in files:
            result = cache.load(f, name, DOCUMENT_CHECKS)
            if not keep_nodes:
                result.forget_nodes()  # before the next file is read: the peak stays low
            results.append(result)
            diags.extend(result.diagnostics)
        bundle = Bundle(results)
        diags.extend(run_checks(bundle, cache.memo("checks", bundle, DIAGNOSTICS)))
    unique = sorted(dict.fromkeys(diags), key=sort_key)
    return ValidationResult(bundle=bundle, diagnostics=unique)
