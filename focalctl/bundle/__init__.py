"""The bundle: YAML files → documents with positions → typed objects, indexed by tenant/kind/name.

Public surface: :func:`load_bundle` (stages 1–2 of the pipeline) and :class:`Bundle`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from focalctl.bundle.loader import Document, LoadResult, SourceFile, load_paths
from focalctl.bundle.models import BundleObject, build_object
from focalctl.diagnostics import Diagnostic

__all__ = ["Bundle", "BundleObject", "Document", "SourceFile", "load_bundle"]


@dataclass(slots=True)
class Bundle:
    """Every valid object of a bundle, plus the files they came from.

    ``objects`` keeps the first definition of each (tenant, kind, name); later duplicates are
    kept in ``duplicates`` for the uniqueness check. Iteration order is deterministic
    (tenant, kind, name), never file order.
    """

    files: list[SourceFile] = field(default_factory=list)
    objects: dict[tuple[str, str, str], BundleObject] = field(default_factory=dict)
    duplicates: list[BundleObject] = field(default_factory=list)
    # (tenant, kind, name) of every document that declares one, valid or not: a reference to a
    # declared-but-invalid object is not reported again (its own errors already are).
    declared: set[tuple[str, str, str]] = field(default_factory=set)
    _index: dict[tuple[str | None, str], list[BundleObject]] | None = field(
        default=None, repr=False
    )

    def add(self, obj: BundleObject) -> None:
        if obj.key in self.objects:
            self.duplicates.append(obj)
        else:
            self.objects[obj.key] = obj
            self._index = None

    def __iter__(self) -> Iterator[BundleObject]:
        return iter(self._kinds().get((None, ""), []))

    def _kinds(self) -> dict[tuple[str | None, str], list[BundleObject]]:
        """(tenant, kind), (None, kind) and (None, "") → objects in (tenant, kind, name) order."""
        if self._index is None:
            index: dict[tuple[str | None, str], list[BundleObject]] = {}
            for key in sorted(self.objects):
                obj = self.objects[key]
                index.setdefault((obj.tenant, obj.kind), []).append(obj)
                index.setdefault((None, obj.kind), []).append(obj)
                index.setdefault((None, ""), []).append(obj)
            self._index = index
        return self._index

    def of_kind(self, kind: str, tenant: str | None = None) -> list[BundleObject]:
        return list(self._kinds().get((tenant, kind), []))

    def get(self, tenant: str, kind: str, name: str) -> BundleObject | None:
        return self.objects.get((tenant, kind, name))

    def tenants_defining(self, kind: str, name: str) -> list[str]:
        return sorted(t for (t, k, n) in self.objects if k == kind and n == name)


def load_bundle(paths: Iterable[str | Path]) -> tuple[Bundle, list[Diagnostic]]:
    """Load and model every document under ``paths``. Never raises on bad input."""
    loaded: LoadResult = load_paths(paths)
    bundle = Bundle(files=loaded.files)
    diags = list(loaded.diagnostics)
    for doc in loaded.documents:
        bundle.declared.add(_declared_key(doc))
        obj, obj_diags = build_object(doc)
        diags.extend(obj_diags)
        if obj is not None:
            bundle.add(obj)
    return bundle, diags


def _declared_key(doc: Document) -> tuple[str, str, str]:
    meta = doc.data.get("metadata") if isinstance(doc.data, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    name, kind = str(meta.get("name", "")), str(doc.kind)
    tenant = name if kind == "Tenant" else str(meta.get("tenant", ""))
    return (tenant, kind, name)
