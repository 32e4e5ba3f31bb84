"""Renderers: one serialisation of a Diagnostic (``Diagnostic.to_json``) feeds every format.

Each format is a :class:`Formatter`; the CLI picks one by name and never branches on format.

Paths in messages (``unknown field 'x' in spec.steps[answer].tools.0``) have one readable form,
made once when the diagnostic is (:mod:`focalctl.diagnostics.paths`): keys and indices joined
by dots, and a step of a ``steps`` list named by its id in brackets, ``spec.steps[answer]``,
or by its index, ``spec.steps.1``, when it has no valid id of its own. Every format shows the
message, so text, json, sarif, junit and github all show that form; json's ``pointer`` stays
an RFC 6901 pointer with indices (``/spec/steps/1/tools/0``), for tools that look the node up.
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
