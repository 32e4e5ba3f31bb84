"""FOC901: a tool whose name or description says it moves money, deletes, cancels or sends,
but whose effect says it is pure. The registry trusts the effect: a pure tool is run again on
every repeat, never confirmed, and a turn that ran it may be cancelled."""

from __future__ import annotations

import re

from focalctl.lint import Finding, Model
from runtime.spec import ToolEffectSpec

_WORDS = re.compile(r"\b(refund|delete|remove|cancel|charge|pay|payment|send|transfer|book)", re.I)


def check(model: Model) -> Finding:
    for obj in model.kind("ToolEffect"):
        spec = obj.spec
        assert isinstance(spec, ToolEffectSpec)
        said = _WORDS.search(f"{obj.name} {spec.description or ''}".replace("-", " "))
        if said is None:
            continue
        if spec.effect == "pure":
            yield (
                obj,
                obj.diag(
                    "FOC901",
                    "/spec/effect",
                    tool=obj.name,
                    word=said.group(1).lower(),
                ),
            )
