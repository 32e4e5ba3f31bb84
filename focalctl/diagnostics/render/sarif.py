"""SARIF 2.1.0 for code-scanning services; rules come from the code registry."""

from __future__ import annotations

import json
from typing import Any, TextIO

from focalctl import __version__
from focalctl.diagnostics.codes import CODES
from focalctl.diagnostics.model import Severity
from focalctl.diagnostics.render import Report

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def render(report: Report, out: TextIO, *, color: bool) -> None:
    used = sorted({d.code for d in report.diagnostics})
    rules = [
        {
            "id": code,
            "name": CODES[code].title.title().replace(" ", ""),
            "shortDescription": {"text": CODES[code].title},
            "help": {"text": CODES[code].help or CODES[code].title},
            "defaultConfiguration": {"level": _LEVEL[Severity(CODES[code].severity)]},
        }
        for code in used
    ]
    results: list[dict[str, Any]] = []
    for d in report.diagnostics:
        result: dict[str, Any] = {
            "ruleId": d.code,
            "ruleIndex": used.index(d.code),
            "level": _LEVEL[d.severity],
            "message": {"text": d.message + (f" ({d.hint})" if d.hint else "")},
        }
        if d.file:
            region: dict[str, int] = {}
            if d.line:
                region["startLine"] = d.line
            if d.column:
                region["startColumn"] = d.column
            if d.end_column:
                region["endColumn"] = d.end_column
            location: dict[str, Any] = {"artifactLocation": {"uri": d.file}}
            if region:
                location["region"] = region
            result["locations"] = [{"physicalLocation": location}]
        results.append(result)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "focalctl",
                        "version": __version__,
                        "informationUri": "https://github.com/focal",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    out.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
