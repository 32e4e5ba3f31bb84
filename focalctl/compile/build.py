"""Building snapshot bodies, canonical bytes and provenance from a validated bundle."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel

from focalctl import __version__
from focalctl.bundle import Bundle, BundleObject, ObjectRef
from focalctl.bundle.marks import node_line
from focalctl.bundle.positions import find_node, parse_pointer
from focalctl.bundle.view import View
from focalctl.diagnostics import Diagnostic
from focalctl.gcpause import gc_paused
from focalctl.partial import PartialCache, tuples
from focalctl.partial.memo import Memo, unit_fingerprint
from focalctl.validate import validate_paths
from runtime.snapshot import SNAPSHOT_FORMAT, canonical_bytes, snapshot_id
from runtime.spec import (
    CHANNEL_TURN_DEFAULTS,
    GLOBAL_SETTINGS_DEFAULTS,
    SECTIONS,
    TIER_LIMITS,
    ScenarioSpec,
    StandaloneStepSpec,
    TenantSpec,
    fill_channel_defaults,
)

COMPILER_VERSION = __version__


@dataclass(frozen=True)
class CompiledSnapshot:
    """One tenant's snapshot: canonical bytes and id, plus what the store keeps beside it.

    Provenance is kept as one JSON ``[objects, settings]`` part per compiled object and merged
    only when asked for (apply and ``plan -out`` store it; a plain plan never needs it).
    """

    tenant: str
    body: dict[str, Any]
    raw: bytes
    id: str
    sources: dict[str, str]
    source_digest: str
    object_count: int
    compiler_version: str = COMPILER_VERSION
    provenance_parts: tuple[bytes, ...] = ()

    @cached_property
    def provenance(self) -> dict[str, Any]:
        """``{"objects": {"Kind/name": "file:line"}, "settings": {layer: {path: "file:line"}}}``."""
        objects: dict[str, str] = {}
        settings: dict[str, dict[str, str]] = {}
        for part in self.provenance_parts:
            part_objects, part_settings = json.loads(part)
            objects.update(part_objects)
            settings.update(part_settings)
        return {"objects": objects, "settings": settings}

    @staticmethod
    def provenance_part(provenance: Any) -> bytes:
        """A provenance dict (as :attr:`provenance` returns it, e.g. read back from a saved
        plan) as one part; anything else counts as no provenance."""
        if not isinstance(provenance, dict):
            provenance = {}
        objects, settings = provenance.get("objects"), provenance.get("settings")
        return json.dumps(
            [
                objects if isinstance(objects, dict) else {},
                settings if isinstance(settings, dict) else {},
            ]
        ).encode()


@dataclass(slots=True)
class CompileResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    snapshots: dict[str, CompiledSnapshot] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(d.severity.value == "error" for d in self.diagnostics)


def compile_paths(paths: Iterable[str | Path], cache: PartialCache | None = None) -> CompileResult:
    """Validate, then compile every tenant; an invalid bundle compiles to nothing.

    With a cache, unchanged files and objects reuse their results (the caller saves it).
    """
    cache = cache or PartialCache.off()
    validation = validate_paths(paths, cache)
    result = CompileResult(diagnostics=list(validation.diagnostics))
    if not validation.errors:
        with gc_paused():
            result.snapshots = compile_bundle(
                validation.bundle, cache.memo("compile", validation.bundle, tuples(Fragment))
            )
    return result


def compile_bundle(
    bundle: Bundle, memo: Memo[Fragment] | None = None
) -> dict[str, CompiledSnapshot]:
    """One snapshot per tenant of a bundle that validated without errors."""
    memo = memo or Memo[Fragment](bundle)
    fragments: dict[str, list[Fragment]] = {}
    files: dict[str, set[str]] = {}  # tenant → the files its objects come from
    for ref in bundle.sorted_refs():
        if ref.kind == "Simulation":
            continue  # a test of the bundle, not part of any snapshot
        files.setdefault(ref.tenant, set()).add(ref.file)
        if ref.kind == "Step":
            continue  # standalone steps are compiled into their scenario
        work = partial(_fragment, bundle, ref)
        fragment = memo.run((ref.file, ref.document), unit_fingerprint(bundle, ref, "first"), work)
        fragments.setdefault(ref.tenant, []).append(fragment)
    return {
        ref.name: _assemble(bundle, ref.name, fragments[ref.name], files[ref.name])
        for ref in bundle.sorted_refs()
        if ref.kind == "Tenant"
    }


class Fragment(NamedTuple):
    """One object's part of its tenant's snapshot."""

    section: str  # its section of the snapshot, or "tenant" for the tenant's own entry
    name: str
    member: bytes  # canonical bytes of '"name":entry' (of the entry itself for the tenant)
    provenance: bytes  # its provenance part: JSON [objects, settings]


def _spec_json(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def _entry(obj: BundleObject, spec: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"spec": spec}
    if obj.metadata.labels:
        entry["labels"] = dict(obj.metadata.labels)
    if obj.metadata.description:
        entry["description"] = obj.metadata.description
    return entry


def _fragment(bundle: Bundle, ref: ObjectRef, view: View) -> Fragment:
    """One object's part of its tenant's snapshot: its entry's canonical bytes and provenance."""
    obj = bundle.object(ref)
    kind = obj.kind
    prov = Provenance()
    prov.object(kind, obj.name, obj)
    spec = _spec_json(obj.spec)
    if kind == "Tenant":
        assert isinstance(obj.spec, TenantSpec)
        spec.pop("lint", None)  # how the bundle is linted is not what the runtime runs
        if "rateLimit" not in spec:
            per_minute, burst = TIER_LIMITS[obj.spec.tier]
            spec["rateLimit"] = {"perMinute": per_minute, "burst": burst}
        elif "burst" not in spec["rateLimit"]:
            spec["rateLimit"]["burst"] = TIER_LIMITS[obj.spec.tier][1]
        entry = _entry(obj, spec)
        entry["name"] = obj.name
        prov.settings("tenant", obj, "/spec/defaults")
        return Fragment("tenant", obj.name, canonical_bytes(entry), prov.part())
    if kind == "ChannelProfile":
        entry = _entry(obj, fill_channel_defaults(spec))
        entry["builtinTurn"] = CHANNEL_TURN_DEFAULTS[spec["channel"]]
        prov.settings(f"profile/{obj.name}", obj, "/spec/settings")
    elif kind == "Scenario":
        assert isinstance(obj.spec, ScenarioSpec)
        spec["steps"] = [*spec.get("steps", []), *_standalone_steps(view, obj, prov)]
        entry = _entry(obj, spec)
        prov.settings(f"scenario/{obj.name}", obj, "/spec/settings")
        for i, step in enumerate(obj.spec.steps):
            prov.object("Step", f"{obj.name}/{step.id}", obj, f"/spec/steps/{i}")
            prov.settings(f"step/{obj.name}/{step.id}", obj, f"/spec/steps/{i}/settings")
    else:
        entry = _entry(obj, spec)
        if kind == "Agent":
            prov.settings(f"agent/{obj.name}", obj, "/spec/settings")
    member = canonical_bytes({obj.name: entry})[1:-1]  # '"name":{...}'
    return Fragment(SECTIONS[kind], obj.name, member, prov.part())


def _standalone_steps(view: View, scenario: BundleObject, prov: Provenance) -> list[dict[str, Any]]:
    steps = []
    for placed in view.scenario_steps(scenario.tenant, scenario.name):
        obj = placed.owner
        if not isinstance(obj.spec, StandaloneStepSpec):
            continue  # inline steps are already in the scenario's spec
        step = _spec_json(obj.spec)
        step.pop("scenario", None)
        steps.append(step)
        prov.object("Step", f"{scenario.name}/{obj.spec.id}", obj)
        prov.settings(f"step/{scenario.name}/{obj.spec.id}", obj, "/spec/settings")
    return steps


def _assemble(
    bundle: Bundle, tenant: str, fragments: list[Fragment], files: set[str]
) -> CompiledSnapshot:
    """The tenant's canonical bytes from its fragments (RFC 8785 is compositional: an object is
    its members, sorted by key, each serialised on its own), plus provenance and sources."""
    members: dict[str, list[tuple[str, bytes]]] = {section: [] for section in SECTIONS.values()}
    tenant_entry = b""
    for fragment in fragments:
        if fragment.section == "tenant":
            tenant_entry = fragment.member
        else:
            members[fragment.section].append((fragment.name, fragment.member))
    top: dict[str, bytes] = {
        "format": canonical_bytes(SNAPSHOT_FORMAT),
        "tenant": tenant_entry,
        "defaults": canonical_bytes(GLOBAL_SETTINGS_DEFAULTS),
    }
    for section, entries in members.items():
        entries.sort(key=lambda item: _jcs_order(item[0]))
        top[section] = b"{" + b",".join(data for _, data in entries) + b"}"
    raw = (
        b"{"
        + b",".join(canonical_bytes(key) + b":" + top[key] for key in sorted(top, key=_jcs_order))
        + b"}"
    )
    sources = {path: "sha256:" + bundle.results[path].source.digest for path in sorted(files)}
    digest = hashlib.sha256(
        "".join(f"{p}\0{d}\n" for p, d in sorted(sources.items())).encode()
    ).hexdigest()
    return CompiledSnapshot(
        tenant=tenant,
        body=json.loads(raw),
        raw=raw,
        id=snapshot_id(raw),
        sources=sources,
        source_digest="sha256:" + digest,
        object_count=1 + sum(len(entries) for entries in members.values()),
        provenance_parts=tuple(f.provenance for f in fragments),
    )


def _jcs_order(key: str) -> bytes:
    """RFC 8785 sorts object members by their names' UTF-16 code units."""
    return key.encode("utf-16-be")


class Provenance:
    """Where each object and each settings value came from (file:line), kept beside the snapshot.

    ``objects``: "Kind/name" → "file:line". ``settings``: layer → {dotted path → "file:line"},
    layers named tenant, agent/<a>, profile/<p>, scenario/<s>, step/<s>/<id>.
    """

    def __init__(self) -> None:
        self.objects: dict[str, str] = {}
        self.layers: dict[str, dict[str, str]] = {}

    def part(self) -> bytes:
        return json.dumps([self.objects, self.layers]).encode()

    def object(self, kind: str, name: str, obj: BundleObject, pointer: str = "") -> None:
        node, _ = find_node(obj.doc.node, parse_pointer(pointer))
        self.objects[f"{kind}/{name}"] = f"{obj.doc.file}:{node_line(node)}"

    def settings(self, layer: str, obj: BundleObject, pointer: str, prefix: str = "") -> None:
        node, found = find_node(obj.doc.node, parse_pointer(pointer))
        if not found:
            return
        out: dict[str, str] = {}
        _leaf_lines(node, prefix, obj.doc.file, out)
        if out:
            self.layers[layer] = out


def _leaf_lines(node: Any, prefix: str, file: str, out: dict[str, str]) -> None:
    from ruamel.yaml.nodes import MappingNode

    if isinstance(node, MappingNode):
        for knode, vnode in node.value:
            _leaf_lines(vnode, f"{prefix}{knode.value}.", file, out)
    else:
        out[prefix.rstrip(".")] = f"{file}:{node_line(node)}"
