"""The human view: like a compiler, the source line with a caret, grouped by file.

Written as plain strings (with ANSI styles when ``color``), joined and written once: no markup
or emoji interpretation can move the caret (``:x:`` in a line stays ``:x:``), and the cost is
linear in what is shown (100,000 diagnostics: 52 s through one rich call per line before).
A long source line is clipped to a window around the caret; control characters are shown as
``?``; literal secrets (FOC510 spans, and any token-shaped text) are masked. At most
``report.max_shown`` diagnostics are shown (0: all), then how many more there are.
"""

from __future__ import annotations

from itertools import groupby
from typing import TextIO

from focalctl.diagnostics.model import Diagnostic, Severity, summarize
from focalctl.diagnostics.redact import redact
from focalctl.diagnostics.render import Report

SECRET_CODE = "FOC510"
# Characters of a long source line shown on each side of the caret.
WINDOW = 60
ELLIPSIS = "…"
_STYLE = {Severity.ERROR: "1;31", Severity.WARNING: "1;33", Severity.INFO: "1;36"}
# C0 controls and DEL would move the cursor or restyle the terminal: one '?' each.
_CONTROLS = {c: "?" for c in (*range(0x20), 0x7F)} | {0x09: " "}

Spans = dict[str, list[tuple[int, int, int | None]]]  # file -> (line, column, end column)


class _Paint:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, style: str) -> str:
        return f"\x1b[{style}m{text}\x1b[0m" if self.color and text else text


def render(report: Report, out: TextIO, *, color: bool) -> None:
    paint = _Paint(color)
    limit = report.max_shown
    shown = report.diagnostics[:limit] if limit > 0 else report.diagnostics
    secrets: Spans = {}
    for d in report.diagnostics:
        if d.code == SECRET_CODE and d.file and d.line and d.column:
            secrets.setdefault(d.file, []).append((d.line, d.column, d.end_column))
    lines_cache: dict[str, dict[int, str]] = {}
    chunks: list[str] = []
    for file, group in groupby(shown, key=lambda d: d.file or ""):
        lines = lines_cache.get(file)
        if lines is None:
            lines = lines_cache[file] = _source_lines(report, file, secrets.get(file, []))
        for d in group:
            _render_diagnostic(chunks, paint, d, lines)
        chunks.append("\n")
    hidden = report.diagnostics[len(shown) :]
    if hidden:
        more = summarize(hidden)
        counts = [f"{more.errors} more error{'' if more.errors == 1 else 's'}"]
        if more.warnings:
            counts.append(f"{more.warnings} more warning{'' if more.warnings == 1 else 's'}")
        if more.infos:
            counts.append(f"{more.infos} more note{'' if more.infos == 1 else 's'}")
        chunks.append(f"{ELLIPSIS} and {', '.join(counts)} (use --max-errors 0 to show all)\n\n")
    if report.diagnostics:
        summary = summarize(report.diagnostics)
        chunks.append(paint(summary.line(), "1;31" if summary.errors else "1;33") + "\n")
    else:
        chunks.append(
            f"{paint('✓', '1;32')} {report.documents} documents in {report.files} files "
            f"{report.clean}\n"
        )
    out.write("".join(chunks))


def _source_lines(
    report: Report, file: str, secrets: list[tuple[int, int, int | None]]
) -> dict[int, str]:
    """The file's lines by number, with the spans that hold a literal secret masked (each
    masked once per file, whatever the number of diagnostics)."""
    raw = report.sources.get(file, b"")
    if not raw:
        return {}
    lines = dict(enumerate(raw.decode("utf-8", errors="replace").splitlines(), start=1))
    for line, col, end in secrets:
        text = lines.get(line)
        if text is None:
            continue
        stop = end if end else len(text) + 1
        lines[line] = text[: col - 1] + "*" * max(stop - col, 0) + text[stop - 1 :]
    return lines


def _literal(text: str) -> str:
    return text.translate(_CONTROLS)


def _render_diagnostic(
    chunks: list[str], paint: _Paint, d: Diagnostic, lines: dict[int, str]
) -> None:
    where = d.file or "<bundle>"
    if d.line:
        where += f":{d.line}" + (f":{d.column}" if d.column else "")
    style = _STYLE[d.severity]
    head = paint(f"{d.severity.value}[{d.code}]", style)
    chunks.append(f"{paint(_literal(where), '1')}: {head}: {_literal(d.message)}\n")
    source = lines.get(d.line) if d.line else None
    if source is not None:
        col = d.column or 1
        width = max((d.end_column or col + 1) - col, 1)
        shown, offset, width = _clip(_literal(source), col - 1, width)
        gutter = f"{d.line:>5} | "
        chunks.append(f"{paint(gutter, '2')}{redact(shown)}\n")
        margin = paint(f"{' ' * (len(gutter) - 2)}| ", "2")
        chunks.append(f"{margin}{' ' * offset}{paint('^' * width, style)}\n")
    if d.hint:
        chunks.append(f"   {paint('help', '36')}: {_literal(d.hint)}\n")


def _clip(source: str, start: int, width: int) -> tuple[str, int, int]:
    """``source`` cut to WINDOW characters either side of the caret (… where cut), with the
    caret's offset and width in what is shown."""
    width = max(min(width, len(source) - start), 1)
    if len(source) <= 2 * WINDOW + 20:
        return source, start, width
    width = min(width, WINDOW)
    lo = max(start - WINDOW, 0)
    hi = min(start + width + WINDOW, len(source))
    prefix = ELLIPSIS if lo > 0 else ""
    suffix = ELLIPSIS if hi < len(source) else ""
    return prefix + source[lo:hi] + suffix, len(prefix) + start - lo, width
