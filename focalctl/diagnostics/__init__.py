"""Diagnostics: the one vocabulary every stage uses to report problems.

A :class:`Diagnostic` is only ever created through the code registry (:func:`make`), so every
code has a title, a message template, a help text and an example. Checks report against a
document and a JSON pointer; :func:`focalctl.bundle.positions.locate` turns that pointer into
a 1-based file:line:col. Renderers live in :mod:`focalctl.diagnostics.render` and never check.
"""

from focalctl.diagnostics.codes import CODES, Code
from focalctl.diagnostics.model import Diagnostic, Severity, make, sort_key, summarize

__all__ = ["CODES", "Code", "Diagnostic", "Severity", "make", "sort_key", "summarize"]
