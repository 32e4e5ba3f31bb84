"""The lint rules, one module per code. A rule takes the :class:`~focalctl.lint.Model` and
yields (object, diagnostic) pairs; the diagnostic is located in the object's document."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from focalctl.bundle.models import BundleObject
from focalctl.diagnostics import Diagnostic
from focalctl.lint import Model
from focalctl.lint.rules import foc901, foc902, foc903, foc904, foc905, foc906

Rule = Callable[[Model], Iterator[tuple[BundleObject, Diagnostic]]]

RULES: list[Rule] = [
    foc901.check,
    foc902.check,
    foc903.check,
    foc904.check,
    foc905.check,
    foc906.check,
]
