"""The human view: like a compiler, the source line with a caret, grouped by file."""

from __future__ import annotations

from itertools import groupby
from typing import TextIO

from rich.console import Console
from rich.markup import escape

from focalctl.diagnostics.model import Diagnostic, Severity, summarize
from focalctl.diagnostics.render import Report

SECRET_CODE = "FOC510"
_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "bold yellow", Severity.INFO: "bold cyan"}


def render(report: Report, out: TextIO, *, color: bool) -> None:
    console = Console(
        file=out, no_color=not color, highlight=False, soft_wrap=True, force_terminal=color
    )
    lines_cache: dict[str, list[str]] = {}
    secrets = {
        (d.file, d.line, d.column, d.end_column)
        for d in report.diagnostics
        if d.code == SECRET_CODE
    }
    for file, group in groupby(report.diagnostics, key=lambda d: d.file or ""):
        for d in group:
            _one(console, d, _redacted(_lines(report, file, lines_cache), file, secrets))
        console.print()
    if report.diagnostics:
        summary = summarize(report.diagnostics)
        style = "bold red" if summary.errors else "bold yellow"
        console.print(f"[{style}]{summary.line()}[/]")
    else:
        console.print(
            f"[bold green]✓[/] {report.documents} documents in {report.files} files are valid"
        )


def _redacted(
    lines: list[str], file: str, secrets: set[tuple[str | None, int | None, int | None, int | None]]
) -> list[str]:
    """Mask the spans that hold a literal secret, so the report never prints it."""
    out = lines
    for sfile, line, col, end in secrets:
        if sfile == file and line and col and 0 < line <= len(lines):
            if out is lines:
                out = list(lines)
            text = out[line - 1]
            stop = end if end else len(text) + 1
            out[line - 1] = text[: col - 1] + "*" * max(stop - col, 0) + text[stop - 1 :]
    return out


def _lines(report: Report, file: str, cache: dict[str, list[str]]) -> list[str]:
    if file not in cache:
        raw = report.sources.get(file, b"")
        cache[file] = raw.decode("utf-8", errors="replace").splitlines()
    return cache[file]


def _one(console: Console, d: Diagnostic, lines: list[str]) -> None:
    where = d.file or "<bundle>"
    if d.line:
        where += f":{d.line}" + (f":{d.column}" if d.column else "")
    style = _STYLE[d.severity]
    console.print(
        f"[bold]{escape(where)}[/]: [{style}]{d.severity.value}[{d.code}][/]: {escape(d.message)}"
    )
    if d.line and 0 < d.line <= len(lines):
        source = lines[d.line - 1].replace("\t", " ")
        gutter = f"{d.line:>5} | "
        console.print(f"[dim]{gutter}[/]{escape(source)}")
        col = d.column or 1
        width = max((d.end_column or col + 1) - col, 1)
        width = min(width, max(len(source) - col + 1, 1))
        console.print(
            f"[dim]{' ' * (len(gutter) - 2)}| [/]{' ' * (col - 1)}[{style}]{'^' * width}[/]"
        )
    if d.hint:
        console.print(f"   [cyan]help[/]: {escape(d.hint)}")
