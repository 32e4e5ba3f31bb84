"""Channel profiles as the compiler writes them into a snapshot: built-in defaults filled in."""

from __future__ import annotations

from typing import Any

from runtime.spec import fill_channel_defaults


def profile(channel: str, **overrides: Any) -> dict[str, Any]:
    """The compiled spec of a ``channel`` profile; ``maxMessageLength``, ``markdown``,
    ``buttons``, ``split``, ``greeting`` and ``signature`` may be overridden."""
    spec = fill_channel_defaults({"channel": channel})
    caps, fmt = dict(spec["capabilities"]), dict(spec["format"])
    for key in ("maxMessageLength", "markdown", "buttons"):
        if key in overrides:
            caps[key] = overrides.pop(key)
    fmt.update(overrides)
    return {**spec, "capabilities": caps, "format": fmt}
