"""The Diagnostic type and its constructor through the code registry."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from focalctl.diagnostics.codes import CODES
from focalctl.diagnostics.redact import redact


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a bundle.

    ``line``/``column`` are 1-based and ``None`` until the diagnostic is located in its file
    (a check knows the document and pointer, the loader knows positions). ``end_column`` is the
    column just past the offending text on ``line``, for the caret underline.
    """

    code: str
    severity: Severity
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    end_column: int | None = None
    pointer: str = ""
    hint: str | None = None
    # Which part of the node at ``pointer`` the problem is about: its "value" or its "key".
    target: str = "value"
    # The document (index within ``file``) the pointer refers to; set by checks, used by locate.
    document: int | None = None

    def at(self, line: int, column: int, end_column: int | None = None) -> Diagnostic:
        return replace(self, line=line, column=column, end_column=end_column)

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "title": CODES[self.code].title,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "end_column": self.end_column,
            "pointer": self.pointer,
            "hint": self.hint,
        }


def make(
    code: str,
    *,
    file: str | None = None,
    pointer: str = "",
    document: int | None = None,
    target: str = "value",
    hint: str | None = None,
    line: int | None = None,
    column: int | None = None,
    end_column: int | None = None,
    severity: Severity | None = None,
    **params: Any,
) -> Diagnostic:
    """Create a Diagnostic for a registered ``code``; ``params`` fill its message template.

    ``hint`` overrides the code's default help (e.g. a did-you-mean). Unknown or removed codes
    raise ``KeyError``/``ValueError``: that is a bug in Focal, not a user mistake. A token-shaped
    secret quoted in the message or hint is masked (:func:`~focalctl.diagnostics.redact.redact`),
    so that no output format prints it.
    """
    spec = CODES[code]
    if spec.removed:
        raise ValueError(f"diagnostic code {code} is retired and must not be emitted")
    message = redact(spec.template.format(**params))
    default_hint = spec.help.format_map(_Params(params)) if spec.help else None
    hint = redact(hint) if hint is not None else default_hint and redact(default_hint)
    return Diagnostic(
        code=code,
        severity=severity or Severity(spec.severity),
        message=message,
        file=file,
        line=line,
        column=column,
        end_column=end_column,
        pointer=pointer,
        hint=hint,
        target=target,
        document=document,
    )


class _Params(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def stage(code: str) -> int:
    """0 for a file or syntax problem (1xx), 1 for a schema problem (2xx), 2 for the rest:
    references, graph, tools, channels, templates, uniqueness, lint (3xx and up)."""
    return min(int(code[3]) - 1, 2) if code[3:4].isdigit() else 2


def sort_key(d: Diagnostic) -> tuple[int, str, int, int, str, str, str, str]:
    """Deterministic order, root causes first: syntax and file errors (1xx), then schema
    errors (2xx), then everything a broken document can cause (3xx and up); within each,
    file, line, column, code, message (then pointer and hint, so that no two different
    diagnostics ever tie). A reference error in another file therefore never comes before
    the syntax error that hid its target."""
    return (
        stage(d.code),
        d.file or "",
        d.line or 0,
        d.column or 0,
        d.code,
        d.message,
        d.pointer,
        d.hint or "",
    )


@dataclass(frozen=True, slots=True)
class Summary:
    errors: int
    warnings: int
    infos: int
    files: int

    def line(self) -> str:
        def plural(n: int, word: str) -> str:
            return f"{n} {word}{'' if n == 1 else 's'}"

        parts = [plural(self.errors, "error"), plural(self.warnings, "warning")]
        if self.infos:
            parts.append(plural(self.infos, "note"))
        return f"{', '.join(parts)} in {plural(self.files, 'file')}"


def summarize(diags: Iterable[Diagnostic]) -> Summary:
    diags = list(diags)
    return Summary(
        errors=sum(d.severity is Severity.ERROR for d in diags),
        warnings=sum(d.severity is Severity.WARNING for d in diags),
        infos=sum(d.severity is Severity.INFO for d in diags),
        files=len({d.file for d in diags if d.file}),
    )
