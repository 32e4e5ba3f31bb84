"""``focalctl lint``: the ConfigBuilderAgent's analyzers. Each rule is a module of
:mod:`focalctl.lint.rules` named by its code (9xx), looking at a bundle that validates and
reporting what is legal but likely wrong, each finding with a position and a concrete fix.
No finding depends on a language model.

A finding on a line that carries ``# focal: disable=FOC9xx`` (or the line above it) is
dropped, as linters' inline suppressions are. A tenant's ``lint:`` turns a rule off or gives it
another severity for all its objects, with a required reason:
``lint: {FOC902: {severity: off, reason: "one outbound channel by contract"}}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from focalctl.bundle import Bundle
from focalctl.bundle.models import BundleObject
from focalctl.bundle.positions import locate
from focalctl.diagnostics import Diagnostic, Severity
from runtime.spec import TenantSpec

__all__ = ["LintResult", "Model", "lint_paths"]

_DISABLE = re.compile(r"#\s*focal:\s*disable=([A-Z0-9, ]+)")


@dataclass(slots=True)
class Model:
    """The validated bundle as the rules read it: objects by kind, per tenant."""

    bundle: Bundle
    by_kind: dict[str, list[BundleObject]] = field(default_factory=dict)

    @classmethod
    def of(cls, bundle: Bundle) -> Model:
        model = cls(bundle)
        for ref in bundle.sorted_refs():
            model.by_kind.setdefault(ref.kind, []).append(bundle.object(ref))
        return model

    def kind(self, kind: str, tenant: str | None = None) -> list[BundleObject]:
        return [o for o in self.by_kind.get(kind, []) if tenant is None or o.tenant == tenant]

    def get(self, tenant: str, kind: str, name: str) -> BundleObject | None:
        return next((o for o in self.kind(kind, tenant) if o.name == name), None)


@dataclass(slots=True)
class LintResult:
    bundle: Bundle
    diagnostics: list[Diagnostic]  # validation errors (then no lint ran), or lint findings
    valid: bool


def lint_paths(paths: Sequence[Path]) -> LintResult:
    from focalctl.lint.rules import RULES
    from focalctl.validate import validate_paths

    validation = validate_paths(paths)
    errors = [d for d in validation.diagnostics if d.severity.value == "error"]
    if errors:
        return LintResult(validation.bundle, errors, False)
    model = Model.of(validation.bundle)
    settings = {t.name: t.spec.lint for t in model.kind("Tenant") if isinstance(t.spec, TenantSpec)}
    found: list[Diagnostic] = []
    for rule in RULES:
        for obj, diag in rule(model):
            located = locate(obj.doc, diag) if diag.line is None else diag
            setting = settings.get(obj.tenant, {}).get(located.code)
            if setting is not None:
                if setting.severity == "off":
                    continue
                located = replace(located, severity=Severity(setting.severity))
            if not _disabled(validation.bundle, located):
                found.append(located)
    found.sort(key=lambda d: (d.file or "", d.line or 0, d.column or 0, d.code))
    return LintResult(validation.bundle, found, True)


def _disabled(bundle: Bundle, diag: Diagnostic) -> bool:
    source = next((f for f in bundle.files if f.path == diag.file), None)
    if source is None or diag.line is None:
        return False
    lines = source.raw.decode("utf-8", "replace").splitlines()
    for number in (diag.line, diag.line - 1):
        if 1 <= number <= len(lines):
            match = _DISABLE.search(lines[number - 1])
            if match and diag.code in {c.strip() for c in match.group(1).split(",")}:
                return True
    return False


Finding = Iterator[tuple[BundleObject, Diagnostic]]
