"""Settings resolution: the one function that merges the hierarchy, used by compiler and runtime.

The chain, earliest first (later wins, maps merge key by key, lists replace)::

    default → channel (built-in defaults of the channel type) → tenant → agent
            → profile (the ChannelProfile's ``turn``) → scenario → step

so a channel sets its own burst window and a scenario or step can still override it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from runtime.spec import EffectiveSettings, merge_settings

LEVELS: tuple[str, ...] = ("default", "channel", "tenant", "agent", "profile", "scenario", "step")

Layer = tuple[str, dict[str, Any] | None]


def channel_layers(
    channel_turn_defaults: dict[str, Any] | None, profile_turn: dict[str, Any] | None
) -> tuple[Layer, Layer]:
    """The two layers a channel contributes, shaped as settings blocks."""
    return (
        ("channel", {"turn": channel_turn_defaults} if channel_turn_defaults else None),
        ("profile", {"turn": profile_turn} if profile_turn else None),
    )


def chain(
    default: dict[str, Any],
    tenant: dict[str, Any] | None,
    agent: dict[str, Any] | None,
    scenario: dict[str, Any] | None = None,
    step: dict[str, Any] | None = None,
    channel_turn_defaults: dict[str, Any] | None = None,
    profile_turn: dict[str, Any] | None = None,
) -> list[Layer]:
    """The layers in resolution order, each a camelCase settings dict (or None)."""
    channel, profile = channel_layers(channel_turn_defaults, profile_turn)
    return [
        ("default", default),
        channel,
        ("tenant", tenant),
        ("agent", agent),
        profile,
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
