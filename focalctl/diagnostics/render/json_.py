"""The JSON view, like ``terraform validate -json``: one versioned document."""

from __future__ import annotations

from typing import TextIO

from focalctl import jsondoc
from focalctl.diagnostics.model import Severity
from focalctl.diagnostics.render import Report


def render(report: Report, out: TextIO, *, color: bool) -> None:
    errors = sum(d.severity is Severity.ERROR for d in report.diagnostics)
    warnings = sum(d.severity is Severity.WARNING for d in report.diagnostics)
    doc = {
        "valid": errors == 0,
        "error_count": errors,
        "warning_count": warnings,
        "diagnostics": [d.to_json() for d in report.diagnostics],
    }
    jsondoc.write(doc, out)
