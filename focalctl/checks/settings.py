"""Invariant 10: settings ranges hold after resolution, not only per level.

For every agent × scenario it lists × step × channel profile it speaks on, the settings chain
(``runtime.settings``) is merged and validated as :class:`runtime.spec.EffectiveSettings`.
Every level is range-checked by the schema stage too, so today a bundle trips this check only
when a level's value and a later one combine badly; it is here so the runtime never receives an
out-of-range effective value, whatever the per-level schemas allow. Identical merged results are
validated once per agent, which keeps large bundles fast; :func:`dedupe` then keeps one report
per offending value (the first agent's, in name order).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import ValidationError

from focalctl.bundle import BundleObject
from focalctl.bundle.view import View
from focalctl.diagnostics import Diagnostic
from runtime.settings import chain, merge, winners
from runtime.spec import (
    CHANNEL_TURN_DEFAULTS,
    GLOBAL_SETTINGS_DEFAULTS,
    AgentSpec,
    ChannelProfileSpec,
    TenantSpec,
)


def _json(model: Any) -> dict[str, Any] | None:
    return model.to_json() if model is not None else None


def check(view: View, agent: BundleObject) -> Iterator[Diagnostic]:
    if agent.kind != "Agent":
        return
    assert isinstance(agent.spec, AgentSpec)
    seen: set[str] = set()
    tenant = view.get(agent.tenant, "Tenant", agent.tenant)
    tenant_layer = (
        _json(tenant.spec.defaults) if tenant and isinstance(tenant.spec, TenantSpec) else None
    )
    profiles = [
        p for n in agent.spec.channels if (p := view.get(agent.tenant, "ChannelProfile", n))
    ]
    candidates: list[BundleObject | None] = [*profiles] if profiles else [None]
    for scenario_name in agent.spec.scenarios:
        scenario = view.get(agent.tenant, "Scenario", scenario_name)
        if scenario is None:
            continue
        scenario_layer = _json(getattr(scenario.spec, "settings", None))
        for placed in view.scenario_steps(agent.tenant, scenario_name):
            for profile in candidates:
                channel_turn = profile_layer = None
                if profile is not None and isinstance(profile.spec, ChannelProfileSpec):
                    channel_turn = CHANNEL_TURN_DEFAULTS[profile.spec.channel]
                    profile_layer = _json(profile.spec.settings)
                layers = chain(
                    GLOBAL_SETTINGS_DEFAULTS,
                    channel_turn,
                    tenant_layer,
                    _json(agent.spec.settings),
                    profile_layer,
                    scenario_layer,
                    _json(placed.step.settings),
                )
                merged = merge(layers)
                key = json.dumps(merged, sort_keys=True)
                if key in seen:
                    continue
                seen.add(key)
                context = f"{agent.name}/{scenario_name}/{placed.step.id}" + (
                    f" on {profile.name}" if profile else ""
                )
                objects = {
                    "tenant": tenant,
                    "agent": agent,
                    "profile": profile,
                    "scenario": scenario,
                    "step": placed.owner,
                }
                bases = {
                    "tenant": "/spec/defaults",
                    "agent": "/spec/settings",
                    "profile": "/spec",
                    "scenario": "/spec/settings",
                    "step": placed.ptr("settings"),
                }
                yield from _validate(merged, winners(layers), context, objects, bases)


def dedupe(diags: Iterable[Diagnostic]) -> Iterator[Diagnostic]:
    """One FOC210 per offending value (file, pointer, message without its context)."""
    reported: set[tuple[str, str, str]] = set()
    for diag in diags:
        if diag.code == "FOC210":
            ident = (diag.file or "", diag.pointer, diag.message.split(" for ")[0])
            if ident in reported:
                continue
            reported.add(ident)
        yield diag


def _validate(
    merged: dict[str, Any],
    won: dict[str, str],
    context: str,
    objects: dict[str, BundleObject | None],
    bases: dict[str, str],
) -> Iterator[Diagnostic]:
    from runtime.spec import EffectiveSettings

    try:
        EffectiveSettings.model_validate(merged)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            path = ".".join(str(p) for p in err["loc"] if isinstance(p, str) and "[" not in p)
            level = won.get(path, "default")
            obj = objects.get(level)
            value = _get(merged, path)
            if obj is None:
                continue
            pointer = bases[level] + "/" + path.replace(".", "/")
            yield obj.diag(
                "FOC210", pointer, setting=path, value=value, context=context, message=err["msg"]
            )


def _get(data: dict[str, Any], path: str) -> Any:
    cur: Any = data
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    return cur
