"""Where in a document a diagnostic is, written for people: the path in its message.

A path is the keys and list indices from the document's root, joined by dots
(``spec.confirmation``, ``spec.steps.1.tools.0``), except that a step of a ``steps`` list is
named by its id in brackets: ``spec.steps[answer].tools.0.at``, not ``spec.steps.1.tools.0.at``.
The id is read from the raw document, so a step that failed validation is named too; a step
whose ``id`` is missing, not a valid step id, or shared with another step of the list keeps its
index (``spec.steps.1``). Every output format shows this path in the message; the machine
``pointer`` (JSON, RFC 6901) keeps indices, which is what a tool needs to find the node.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from runtime.spec import STEP_ID_PATTERN

_STEP_ID = re.compile(STEP_ID_PATTERN)


def readable(path: Sequence[str | int], data: Any, prefix: Sequence[str] = ()) -> str:
    """``prefix`` + ``path`` as a dotted path; ``path`` is relative to ``data`` (the raw
    value at ``prefix``), from which step ids are read. ``document`` for the empty path."""
    text = ".".join(prefix)
    cur: Any = data
    previous: str | int | None = prefix[-1] if prefix else None
    for part in path:
        label = f".{part}" if text else str(part)
        nxt: Any = None
        if isinstance(cur, dict) and isinstance(part, str):
            nxt = cur.get(part)
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            nxt = cur[part]
            step = _step_id(cur, part) if previous == "steps" else None
            if step is not None:
                label = f"[{step}]"
        text += label
        cur, previous = nxt, part
    return text or "document"


def _step_id(steps: list[Any], index: int) -> str | None:
    """The id of ``steps[index]`` if it is a valid step id that no other step of the list has."""
    item = steps[index]
    sid = item.get("id") if isinstance(item, dict) else None
    if not (isinstance(sid, str) and _STEP_ID.match(sid)):
        return None
    same = sum(1 for s in steps if isinstance(s, dict) and s.get("id") == sid)
    return sid if same == 1 else None
