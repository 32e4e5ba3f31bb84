"""JUnit XML: one test case per file, a failure per error (warnings as system-out)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TextIO

from focalctl.diagnostics.model import Severity
from focalctl.diagnostics.render import Report


def render(report: Report, out: TextIO, *, color: bool) -> None:
    files = sorted(set(report.sources) | {d.file or "<bundle>" for d in report.diagnostics})
    errors = [d for d in report.diagnostics if d.severity is Severity.ERROR]
    suite = ET.Element(
        "testsuite",
        name="focalctl validate",
        tests=str(len(files)),
        failures=str(len({d.file for d in errors})),
        errors="0",
    )
    for name in files:
        case = ET.SubElement(suite, "testcase", classname="focalctl.validate", name=name)
        mine = [d for d in report.diagnostics if (d.file or "<bundle>") == name]
        for d in mine:
            where = f"{d.file}:{d.line}:{d.column}"
            text = f"{where}: {d.severity.value}[{d.code}]: {d.message}" + (
                f"\nhelp: {d.hint}" if d.hint else ""
            )
            if d.severity is Severity.ERROR:
                ET.SubElement(case, "failure", type=d.code, message=d.message).text = text
            else:
                ET.SubElement(case, "system-out").text = text
    ET.indent(suite)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(suite, encoding="unicode") + "\n")
