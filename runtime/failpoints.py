"""Failpoints: named places where a test makes a real server process die, as etcd's gofail
and TiKV's fail-rs do, to show what a crash at exactly that point leaves behind.

``FOCAL_FAILPOINTS="tool.after:issue-refund=kill,turn.before-save=kill"`` arms them for one
process; unset (always, outside tests) a failpoint is one dictionary lookup. Points:

- ``tool.before:<tool>``: the call is recorded in flight, the gateway not yet called;
- ``tool.after:<tool>``: the gateway answered, the record not yet finished;
- ``turn.before-save`` (any turn) or ``turn.before-save:<tool>`` (a turn that executed it): the
  turn ran, the conversation not yet stored.
"""

from __future__ import annotations

import os
import signal


def _parse(text: str) -> dict[str, str]:
    points = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, action = item.partition("=")
        points[name.strip()] = action.strip() or "kill"
    return points


_ARMED = _parse(os.environ.get("FOCAL_FAILPOINTS", ""))


def failpoint(name: str, *details: str) -> None:
    """Act on ``name`` (or ``name:detail`` for any of ``details``) if it is armed: ``kill``
    is SIGKILL of this process, nothing flushed, nothing cleaned up."""
    if not _ARMED:
        return
    actions = [_ARMED.get(name)] + [_ARMED.get(f"{name}:{d}") for d in details]
    if "kill" in actions:
        os.kill(os.getpid(), signal.SIGKILL)
