"""Settings resolution: the one function that merges the hierarchy, used by compiler and runtime.

The chain, earliest first (later wins, maps merge key by key, lists replace)::

    default → channel (built-in defaults of the channel type) → tenant → agent
            → profile (the ChannelProfile's ``settings``) → scenario → step

so a channel sets its own burst window and a scenario or step can still override it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from runtime.spec import EffectiveSettings, merge_settings

LEVELS: tuple[str, ...] = ("default", "channel", "tenant", "agent", "profile", "scenario", "step")

Layer = tuple[str, dict[str, Any] | None]


def chain(
    default: dict[str, Any],
    channel_turn: dict[str, Any] | None,
    tenant: dict[str, Any] | None,
    agent: dict[str, Any] | None,
    profile: dict[str, Any] | None,
    scenario: dict[str, Any] | None,
    step: dict[str, Any] | None,
) -> list[Layer]:
    """The layers in resolution order (the parameters' order), each a camelCase settings dict
    or None. ``channel_turn`` is the channel type's built-in turn settings; every other layer
    is a settings block."""
    return [
        ("default", default),
        ("channel", {"turn": channel_turn} if channel_turn else None),
        ("tenant", tenant),
        ("agent", agent),
        ("profile", profile),
        ("scenario", scenario),
        ("step", step),
    ]


def merge(layers: Sequence[Layer]) -> dict[str, Any]:
    return merge_settings(*(layer for _, layer in layers))


def resolve(layers: Sequence[Layer]) -> EffectiveSettings:
    """Merge and validate; raises ``pydantic.ValidationError`` if the result is out of range."""
    return EffectiveSettings.model_validate(merge(layers))


def winners(layers: Sequence[Layer]) -> dict[str, str]:
    """For every leaf setting (dotted path), the level whose value wins."""
    out: dict[str, str] = {}
    for level, layer in layers:
        for path, value in _leaves(layer or {}, ""):
            if value is not None:
                out[path] = level
    return out


def _leaves(data: dict[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _leaves(value, path + ".")
        else:
            yield path, value
