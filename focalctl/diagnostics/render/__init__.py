"""Renderers: one serialisation of a Diagnostic (``Diagnostic.to_json``) feeds every format.

Each format is a :class:`Formatter`; the CLI picks one by name and never branches on format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, TextIO

from focalctl.diagnostics.model import Diagnostic


@dataclass(frozen=True, slots=True)
class Report:
    """What a renderer needs: the diagnostics, the source text per file, and what was read.

    ``max_shown``: how many diagnostics the text view shows (0: all); the machine-readable
    formats always hold every one.
    """

    diagnostics: list[Diagnostic]
    sources: Mapping[str, bytes] = field(default_factory=dict)
    files: int = 0
    documents: int = 0
    max_shown: int = 0
    clean: str = "are valid"  # what the text view says of a run with nothing to report


class Formatter(Protocol):
    def __call__(self, report: Report, out: TextIO, *, color: bool) -> None: ...


def formatters() -> dict[str, Formatter]:
    from focalctl.diagnostics.render import github, json_, junit, sarif, text

    return {
        "text": text.render,
        "json": json_.render,
        "sarif": sarif.render,
        "junit": junit.render,
        "github": github.render,
    }


FORMAT_NAMES = ("text", "json", "sarif", "junit", "github")

__all__ = ["FORMAT_NAMES", "Formatter", "Report", "formatters"]
