"""The JSON view, like ``terraform validate -json``: one versioned document."""

from __future__ import annotations

import json
from typing import TextIO

from focalctl.diagnostics.model import Severity
from focalctl.diagnostics.render import Report

FORMAT_VERSION = "1.0"


def render(report: Report, out: TextIO, *, color: bool) -> None:
    errors = sum(d.severity is Severity.ERROR for d in report.diagnostics)
    warnings = sum(d.severity is Severity.WARNING for d in report.diagnostics)
    doc = {
        "format_version": FORMAT_VERSION,
        "valid": errors == 0,
        "error_count": errors,
        "warning_count": warnings,
        "diagnostics": [d.to_json() for d in report.diagnostics],
    }
    out.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
