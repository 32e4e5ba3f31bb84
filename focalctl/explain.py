"""Explain: the effective settings of an agent (scenario, step, channel) and where each came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from runtime.settings import merge, resolve, winners
from runtime.snapshot import SettingsIndex, SnapshotV1


class ExplainError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Row:
    setting: str
    value: Any
    level: str
    source: str


@dataclass(frozen=True, slots=True)
class Target:
    tenant: str
    agent: str
    scenario: str | None = None
    step: str | None = None

    @classmethod
    def parse(cls, text: str) -> Target:
        parts = text.strip("/").split("/")
        if not 2 <= len(parts) <= 4 or not all(parts):
            raise ExplainError(
                f"'{text}' is not TENANT/AGENT[/SCENARIO[/STEP]], e.g. acme/support/refunds/confirm_refund"
            )
        return cls(*parts)


def explain(
    model: SnapshotV1, provenance: dict[str, Any], target: Target, channel: str | None
) -> tuple[str | None, list[Row]]:
    """Rows sorted by setting; also returns the channel profile used (the agent's first by default)."""
    if target.agent not in model.agents:
        raise ExplainError(_unknown("agent", target.agent, model.agents))
    if target.scenario and target.scenario not in model.scenarios:
        raise ExplainError(_unknown("scenario", target.scenario, model.scenarios))
    if target.scenario and target.step and model.step(target.scenario, target.step) is None:
        ids = [s.id for s in model.scenarios[target.scenario].spec.steps]
        raise ExplainError(_unknown(f"step of '{target.scenario}'", target.step, ids))
    if channel and channel not in model.channels:
        raise ExplainError(_unknown("channel profile", channel, model.channels))
    agent_channels = model.agents[target.agent].spec.channels
    profile = channel or (agent_channels[0] if agent_channels else None)
    layers = SettingsIndex.of(model).layers(target.agent, target.scenario, target.step, profile)
    try:
        effective = resolve(layers).to_json()
    except ValidationError:
        effective = merge(layers)
    won = winners(layers)
    layer_key = {
        "tenant": "tenant",
        "agent": f"agent/{target.agent}",
        "profile": f"profile/{profile}",
        "scenario": f"scenario/{target.scenario}",
        "step": f"step/{target.scenario}/{target.step}",
    }
    settings_prov: dict[str, dict[str, str]] = provenance.get("settings", {})
    rows = []
    for path, value in _leaves(effective):
        level = won.get(path, "default")
        if level == "default":
            source = "built-in default"
        elif level == "channel":
            kind = model.channels[profile].spec.channel if profile else "?"
            source = f"built-in {kind} channel default"
        else:
            source = settings_prov.get(layer_key[level], {}).get(path, "(source not recorded)")
        rows.append(Row(path, value, level, source))
    return profile, sorted(rows, key=lambda r: r.setting)


def _leaves(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            out.extend(_leaves(value, f"{prefix}{key}."))
        else:
            out.append((f"{prefix}{key}", value))
    return out


def _unknown(what: str, name: str, known: Any) -> str:
    from focalctl.diagnostics.suggest import did_you_mean

    hint = did_you_mean(name, list(known))
    return f"unknown {what} '{name}'" + (
        f"; {hint}" if hint else f" (known: {', '.join(sorted(known)) or 'none'})"
    )
