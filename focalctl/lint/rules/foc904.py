"""FOC904: an offering that no agent's catalog selector reaches: no customer can be offered
it, whatever they ask."""

from __future__ import annotations

from focalctl.lint import Finding, Model
from runtime.spec import AgentSpec, catalog_selects


def check(model: Model) -> Finding:
    for obj in model.kind("Offering"):
        labels = dict(obj.metadata.labels or {})
        catalogs = [
            a.spec.catalog for a in model.kind("Agent", obj.tenant) if isinstance(a.spec, AgentSpec)
        ]
        if not any(catalog_selects(catalog, labels) for catalog in catalogs):
            yield obj, obj.diag("FOC904", "/metadata/name", offering=obj.name)
