"""Invariant 10: settings ranges hold after resolution, not only per level.

For every agent × scenario it lists × step × channel profile it speaks on, the settings chain
(``runtime.settings``) is merged and validated as :class:`runtime.spec.EffectiveSettings`.
Every level is range-checked by the schema stage too, so today a bundle trips this check only
when a level's value and a later one combine badly; it is here so the runtime never receives an
out-of-range effective value, whatever the per-level schemas allow. Identical merged results are
validated once, which keeps large bundles fast.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from focalctl.bundle import Bundle, BundleObject
from focalctl.checks.steps import scenario_steps
from focalctl.diagnostics import Diagnostic
from runtime.settings import chain, merge, winners
from runtime.spec import (
    CHANNEL_DEFAULTS,
    GLOBAL_SETTINGS_DEFAULTS,
    AgentSpec,
    ChannelProfileSpec,
    TenantSpec,
)


def _json(model: Any) -> dict[str, Any] | None:
    return model.to_json() if model is not None else None


def check(bundle: Bundle) -> Iterator[Diagnostic]:
    seen: set[str] = set()
    reported: set[tuple[str, str, str]] = set()
    for agent in bundle.of_kind("Agent"):
        assert isinstance(agent.spec, AgentSpec)
        tenant = bundle.get(agent.tenant, "Tenant", agent.tenant)
        tenant_layer = (
            _json(tenant.spec.defaults) if tenant and isinstance(tenant.spec, TenantSpec) else None
        )
        profiles = [
            p for n in agent.spec.channels if (p := bundle.get(agent.tenant, "ChannelProfile", n))
        ]
        candidates: list[BundleObject | None] = [*profiles] if profiles else [None]
        for scenario_name in agent.spec.scenarios:
            scenario = bundle.get(agent.tenant, "Scenario", scenario_name)
            if scenario is None:
                continue
            scenario_layer = _json(getattr(scenario.spec, "settings", None))
            for placed in scenario_steps(bundle, agent.tenant, scenario_name):
                for profile in candidates:
                    channel_turn = profile_turn = None
                    if profile is not None and isinstance(profile.spec, ChannelProfileSpec):
                        channel_turn = CHANNEL_DEFAULTS[profile.spec.channel]["turn"]
                        profile_turn = _json(profile.spec.turn)
                    layers = chain(
                        GLOBAL_SETTINGS_DEFAULTS,
                        tenant_layer,
                        _json(agent.spec.settings),
                        scenario_layer,
                        _json(placed.step.settings),
                        channel_turn,
                        profile_turn,
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
                    for diag in _validate(merged, winners(layers), context, objects, bases):
                        ident = (diag.file or "", diag.pointer, diag.message.split(" for ")[0])
                        if ident not in reported:
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
