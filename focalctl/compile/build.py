"""Building snapshot bodies, canonical bytes and provenance from a validated bundle."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from focalctl import __version__
from focalctl.bundle import Bundle, BundleObject
from focalctl.bundle.positions import find_node, parse_pointer
from focalctl.checks.steps import scenario_steps
from focalctl.diagnostics import Diagnostic
from focalctl.validate import bulk_allocation, validate_paths
from runtime.snapshot import SNAPSHOT_FORMAT, canonical_bytes, snapshot_id
from runtime.spec import (
    CHANNEL_DEFAULTS,
    GLOBAL_SETTINGS_DEFAULTS,
    TIER_LIMITS,
    ScenarioSpec,
    StandaloneStepSpec,
    TenantSpec,
    fill_channel_defaults,
)

COMPILER_VERSION = __version__

_SECTIONS = {
    "Agent": "agents",
    "ChannelProfile": "channels",
    "Scenario": "scenarios",
    "ToolEffect": "tools",
    "Offering": "offerings",
    "Goal": "goals",
}


@dataclass(frozen=True, slots=True)
class CompiledSnapshot:
    """One tenant's snapshot: canonical bytes and id, plus what the store keeps beside it."""

    tenant: str
    body: dict[str, Any]
    raw: bytes
    id: str
    provenance: dict[str, Any]
    sources: dict[str, str]
    source_digest: str
    object_count: int
    compiler_version: str = COMPILER_VERSION


@dataclass(slots=True)
class CompileResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    snapshots: dict[str, CompiledSnapshot] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(d.severity.value == "error" for d in self.diagnostics)


def compile_paths(paths: Iterable[str | Path]) -> CompileResult:
    """Validate, then compile every tenant; an invalid bundle compiles to nothing."""
    validation = validate_paths(paths)
    result = CompileResult(diagnostics=list(validation.diagnostics))
    if validation.errors:
        return result
    with bulk_allocation():
        result.snapshots = compile_bundle(validation.bundle)
    return result


def compile_bundle(bundle: Bundle) -> dict[str, CompiledSnapshot]:
    """One snapshot per tenant of a bundle that validated without errors."""
    out: dict[str, CompiledSnapshot] = {}
    for tenant_obj in bundle.of_kind("Tenant"):
        out[tenant_obj.name] = _compile_tenant(bundle, tenant_obj)
    return out


def _spec_json(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def _entry(obj: BundleObject, spec: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"spec": spec}
    if obj.metadata.labels:
        entry["labels"] = dict(obj.metadata.labels)
    if obj.metadata.description:
        entry["description"] = obj.metadata.description
    return entry


def _compile_tenant(bundle: Bundle, tenant_obj: BundleObject) -> CompiledSnapshot:
    tenant = tenant_obj.name
    assert isinstance(tenant_obj.spec, TenantSpec)
    tenant_spec = _spec_json(tenant_obj.spec)
    if "rateLimit" not in tenant_spec:
        per_minute, burst = TIER_LIMITS[tenant_obj.spec.tier]
        tenant_spec["rateLimit"] = {"perMinute": per_minute, "burst": burst}
    elif "burst" not in tenant_spec["rateLimit"]:
        tenant_spec["rateLimit"]["burst"] = TIER_LIMITS[tenant_obj.spec.tier][1]
    tenant_entry = _entry(tenant_obj, tenant_spec)
    tenant_entry["name"] = tenant
    body: dict[str, Any] = {
        "format": SNAPSHOT_FORMAT,
        "tenant": tenant_entry,
        "defaults": GLOBAL_SETTINGS_DEFAULTS,
        **{section: {} for section in _SECTIONS.values()},
    }
    prov = Provenance()
    prov.object("Tenant", tenant, tenant_obj)
    prov.settings("tenant", tenant_obj, "/spec/defaults")
    for kind, section in _SECTIONS.items():
        for obj in bundle.of_kind(kind, tenant):
            spec = _spec_json(obj.spec)
            prov.object(kind, obj.name, obj)
            if kind == "ChannelProfile":
                filled = fill_channel_defaults(spec)
                filled["turn"] = spec.get("turn", {})
                entry = _entry(obj, filled)
                entry["builtinTurn"] = CHANNEL_DEFAULTS[spec["channel"]]["turn"]
                prov.settings(f"profile/{obj.name}", obj, "/spec/turn", prefix="turn.")
            elif kind == "Scenario":
                assert isinstance(obj.spec, ScenarioSpec)
                spec["steps"] = [*spec.get("steps", []), *_standalone_steps(bundle, obj, prov)]
                entry = _entry(obj, spec)
                prov.settings(f"scenario/{obj.name}", obj, "/spec/settings")
                for i, step in enumerate(obj.spec.steps):
                    prov.object("Step", f"{obj.name}/{step.id}", obj, f"/spec/steps/{i}")
                    prov.settings(f"step/{obj.name}/{step.id}", obj, f"/spec/steps/{i}/settings")
            else:
                entry = _entry(obj, spec)
                if kind == "Agent":
                    prov.settings(f"agent/{obj.name}", obj, "/spec/settings")
            body[section][obj.name] = entry
    raw = canonical_bytes(body)
    sources = _sources(bundle, tenant)
    digest = hashlib.sha256(
        "".join(f"{p}\0{d}\n" for p, d in sorted(sources.items())).encode()
    ).hexdigest()
    return CompiledSnapshot(
        tenant=tenant,
        body=body,
        raw=raw,
        id=snapshot_id(raw),
        provenance=prov.data,
        sources=sources,
        source_digest="sha256:" + digest,
        object_count=1 + sum(len(body[s]) for s in _SECTIONS.values()),
    )


def _standalone_steps(
    bundle: Bundle, scenario: BundleObject, prov: Provenance
) -> list[dict[str, Any]]:
    steps = []
    for placed in scenario_steps(bundle, scenario.tenant, scenario.name):
        obj = placed.owner
        if not isinstance(obj.spec, StandaloneStepSpec):
            continue  # inline steps are already in the scenario's spec
        step = _spec_json(obj.spec)
        step.pop("scenario", None)
        steps.append(step)
        prov.object("Step", f"{scenario.name}/{obj.spec.id}", obj)
        prov.settings(f"step/{scenario.name}/{obj.spec.id}", obj, "/spec/settings")
    return steps


def _sources(bundle: Bundle, tenant: str) -> dict[str, str]:
    files = {o.doc.file for o in bundle if o.tenant == tenant}
    return {
        f.path: "sha256:" + hashlib.sha256(f.raw).hexdigest()
        for f in bundle.files
        if f.path in files
    }


class Provenance:
    """Where each object and each settings value came from (file:line), kept beside the snapshot.

    ``objects``: "Kind/name" → "file:line". ``settings``: layer → {dotted path → "file:line"},
    layers named tenant, agent/<a>, profile/<p>, scenario/<s>, step/<s>/<id>.
    """

    def __init__(self) -> None:
        self.data: dict[str, Any] = {"objects": {}, "settings": {}}

    def object(self, kind: str, name: str, obj: BundleObject, pointer: str = "") -> None:
        node, _ = find_node(obj.doc.node, parse_pointer(pointer))
        self.data["objects"][f"{kind}/{name}"] = f"{obj.doc.file}:{node.start_mark.line + 1}"

    def settings(self, layer: str, obj: BundleObject, pointer: str, prefix: str = "") -> None:
        node, found = find_node(obj.doc.node, parse_pointer(pointer))
        if not found:
            return
        out: dict[str, str] = {}
        _leaf_lines(node, prefix, obj.doc.file, out)
        if out:
            self.data["settings"][layer] = out


def _leaf_lines(node: Any, prefix: str, file: str, out: dict[str, str]) -> None:
    from ruamel.yaml.nodes import MappingNode

    if isinstance(node, MappingNode):
        for knode, vnode in node.value:
            _leaf_lines(vnode, f"{prefix}{knode.value}.", file, out)
    else:
        out[prefix.rstrip(".")] = f"{file}:{node.start_mark.line + 1}"
