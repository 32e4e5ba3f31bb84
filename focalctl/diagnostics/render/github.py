"""GitHub Actions workflow annotations (``::error file=...,line=...::message``)."""

from __future__ import annotations

from typing import TextIO

from focalctl.diagnostics.model import Severity
from focalctl.diagnostics.render import Report

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(report: Report, out: TextIO, *, color: bool) -> None:
    for d in report.diagnostics:
        props = []
        if d.file:
            props.append(f"file={_escape_prop(d.file)}")
        if d.line:
            props.append(f"line={d.line}")
        if d.column:
            props.append(f"col={d.column}")
        if d.end_column:
            props.append(f"endColumn={d.end_column}")
        props.append(f"title={_escape_prop(d.code)}")
        message = d.message + (f"\n{d.hint}" if d.hint else "")
        out.write(f"::{_LEVEL[d.severity]} {','.join(props)}::{_escape_data(message)}\n")
