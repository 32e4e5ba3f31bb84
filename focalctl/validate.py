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
    paths: Iterable[str | Path], cache: PartialCache | None = None
) -> ValidationResult:
    """Load, model and check everything under ``paths``; diagnostics sorted deterministically.

    With a :class:`~focalctl.partial.PartialCache`, unchanged files and the objects that read
    nothing changed are restored instead of recomputed (the caller saves the cache).
    """
    cache = cache or PartialCache.off()
    with gc_paused():
        files, diags = discover(paths)
        results = [cache.load(f, name, DOCUMENT_CHECKS) for f, name in files]
        for result in results:
            diags.extend(result.diagnostics)
        bundle = Bundle(results)
        diags.extend(run_checks(bundle, cache.memo("checks", bundle, DIAGNOSTICS)))
    unique = sorted(dict.fromkeys(diags), key=sort_key)
    return ValidationResult(bundle=bundle, diagnostics=unique)
