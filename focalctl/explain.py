"""Explain: the effective settings of an agent (scenario, step, channel) and where each came from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from runtime.settings import merge, resolve, winners
from runtime.snapshot import SettingsIndex, SnapshotV1

if TYPE_CHECKING:
    from focalctl.partial import PartialCache


class ExplainError(Exception):
    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True, slots=True)
class Setting:
    """One effective value: its dotted name, the level that set it and the file:line."""

    setting: str
    value: Any
    level: str
    source: str


@dataclass(frozen=True, slots=True)
class Source:
    """The snapshot explained, its provenance, and a label for it (``dev version 3``)."""

    raw: bytes
    provenance: dict[str, Any]
    label: str


@dataclass(frozen=True, slots=True)
class Address:
    """``TENANT/AGENT[/SCENARIO[/STEP]]``: what to explain."""

    tenant: str
    agent: str
    scenario: str | None = None
    step: str | None = None

    @classmethod
    def parse(cls, text: str) -> Address:
        parts = text.strip("/").split("/")
        if not 2 <= len(parts) <= 4 or not all(parts):
            raise ExplainError(
                f"'{text}' is not TENANT/AGENT[/SCENARIO[/STEP]], e.g. acme/support/refunds/confirm_refund"
            )
        return cls(*parts)


def source_of(
    tenant: str, bundle: Path | None, env: str, store_url: str | None, cache: PartialCache
) -> Source:
    """What ``explain`` reads: the tenant's snapshot compiled from ``bundle`` when one is given,
    else its active release in ``env`` from the store. Raises ExplainError (with a hint) or
    StoreError."""
    from focalctl.compile import compile_paths
    from focalctl.store import open_store

    if bundle is not None:
        result = compile_paths([bundle], cache)
        if not result.ok:
            raise ExplainError(
                f"{bundle} does not validate", f"run focalctl validate {bundle} and fix it first"
            )
        if tenant not in result.snapshots:
            known = ", ".join(sorted(result.snapshots)) or "none"
            raise ExplainError(
                f"bundle {bundle} defines no tenant '{tenant}'", f"its tenants: {known}"
            )
        snap = result.snapshots[tenant]
        return Source(snap.raw, snap.provenance, f"bundle {bundle}")
    st = open_store(store_url)
    try:
        active = st.active(tenant, env)
        if active is None:
            raise ExplainError(
                f"{tenant} has no release in {env}", "apply a bundle first or pass --bundle PATH"
            )
        stored = st.get_snapshot(active.snapshot_id)
    finally:
        st.close()
    return Source(stored.raw, stored.provenance, f"{env} version {active.version}")


def explain(
    model: SnapshotV1, provenance: dict[str, Any], target: Address, channel: str | None
) -> tuple[str | None, list[Setting]]:
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
        rows.append(Setting(path, value, level, source))
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
