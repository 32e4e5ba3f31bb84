"""The bundle: YAML files → documents with positions → typed objects, indexed by tenant/kind/name.

Public surface: :func:`file_result` and :func:`load_bundle` (stages 1–2 of the pipeline),
:class:`FileResult` (what one file yields on its own), :class:`Bundle` (the index over every
file's objects) and :class:`ObjectRef`.

A :class:`Bundle` is an index first: which document defines each (tenant, kind, name), which
names are declared, which steps attach to which scenario. Objects are built from their
documents on first use, so a run that restores most files from the partial-parse cache
(:mod:`focalctl.partial`) builds only the objects its changed files touch. :meth:`Bundle.fingerprint`
summarises one fact of the index as a string; a cached result records the fingerprints of
the facts it read and is reused only when all of them are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, NamedTuple

from focalctl.bundle.loader import Document, NodeReparser, SourceFile, discover, load_file
from focalctl.bundle.models import BundleObject, build_object
from focalctl.bundle.positions import locate
from focalctl.diagnostics import Diagnostic
from runtime.spec import AgentSpec, StandaloneStepSpec

__all__ = [
    "Bundle",
    "BundleObject",
    "DepKey",
    "DocChecks",
    "DocEntry",
    "Document",
    "Fact",
    "FileResult",
    "Key",
    "ObjectRef",
    "SourceFile",
    "file_result",
    "load_bundle",
]

Key = tuple[str, str, str]  # (tenant, kind, name)


class Fact:
    """Which index of the bundle a :data:`DepKey` reads (its first element), see
    :meth:`Bundle.fingerprint`.

    Named string constants rather than a StrEnum: the partial-parse cache stores DepKeys with
    ``marshal``, which refuses str subclasses, so enum members would have to be converted for
    every fact on every save and load (thousands per run)."""

    OBJECT: Final = "obj"  # (t, k, n): where the first valid definition is
    DECLARED: Final = "decl"  # (t, k, n): whether some document declares that key
    DECLARED_NAMES: Final = "declnames"  # (t, k): the declared names of a kind
    OBJECT_NAMES: Final = "objnames"  # (t, k): the valid names of a kind
    TENANTS: Final = "tenants"  # (): the declared tenant names
    TENANTS_DEFINING: Final = "defining"  # (k, n): tenants with a valid object of that kind/name
    STANDALONE_STEPS: Final = "steps"  # (t, s): the standalone steps attached to a scenario
    AGENTS_LISTING: Final = "agents"  # (t, s): the agents that list a scenario
    FILE: Final = "file"  # (path,): a file's digest


# A fact of the index: one of the Fact constants, then its arguments (see Bundle.fingerprint).
DepKey = tuple[str, ...]
DocCheck = Callable[[Document], Iterable[Diagnostic]]


class DocChecks(NamedTuple):
    """The checks that read one document alone, run as its file is loaded (and cached with
    it): ``every`` on every document, ``invalid`` on a document whose schema check failed
    (the object checks never see it, so what it holds apart from the bad value is checked
    here)."""

    every: tuple[DocCheck, ...] = ()
    invalid: tuple[DocCheck, ...] = ()

    def names(self) -> str:
        """What identifies these checks in a cached file record."""
        return ";".join(
            ",".join(f"{c.__module__}.{c.__qualname__}" for c in group)
            for group in (self.every, self.invalid)
        )


class ObjectRef(NamedTuple):
    """Where an object's document is, and what the indexes need of it without building it.

    ``attrs``: for a ``Step``, the scenario it attaches to; for an ``Agent``, the scenarios it
    lists (each once, in order); nothing for other kinds. (A tuple: a warm run restores one
    per object, and a frozen dataclass costs several times more to create.)
    """

    key: Key
    file: str
    document: int  # its index among the documents of its file
    attrs: tuple[str, ...] = ()

    @property
    def tenant(self) -> str:
        return self.key[0]

    @property
    def kind(self) -> str:
        return self.key[1]

    @property
    def name(self) -> str:
        return self.key[2]


class DocEntry(NamedTuple):
    """One document of a file that passed the header check."""

    document: int
    line: int
    kind: str
    api_version: str
    declared: Key
    ref: ObjectRef | None  # None: the document did not validate into an object


@dataclass(slots=True)
class FileResult:
    """Everything stages 1–2 learn from one file alone; reusable while its bytes are unchanged.

    ``diagnostics`` are located: load errors, schema errors and document-local checks.
    A fresh result holds its parsed documents and built objects; a result restored from the
    cache holds ``restore``, which returns each document's data in entry order, and builds
    documents and objects on demand.
    """

    source: SourceFile
    diagnostics: list[Diagnostic]
    entries: list[DocEntry]
    restore: Callable[[], list[Any]] | None = None
    _documents: dict[int, Document] | None = None
    _objects: dict[int, BundleObject] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return self.source.path

    def documents(self) -> dict[int, Document]:
        if self._documents is None:
            assert self.restore is not None, "a restored file result carries its documents' data"
            reparse = NodeReparser(self.source.raw, self.source.path)
            self._documents = {
                e.document: Document(
                    self.source.path, e.document, d, e.line, e.kind, e.api_version, reparse=reparse
                )
                for e, d in zip(self.entries, self.restore(), strict=True)
            }
        return self._documents

    def forget_nodes(self) -> None:
        """Drop the documents' YAML node trees, most of a parsed file's memory (10,000 objects:
        410 → 250 MiB). Data and built objects stay; a position asked for later (a diagnostic
        to locate) parses the file again, once, as for a result restored from the cache."""
        if not self._documents:
            return
        reparse = NodeReparser(self.source.raw, self.source.path)
        for doc in self._documents.values():
            if doc._node is not None:
                doc._node, doc.reparse = None, reparse
        self.source.documents = []

    def object_at(self, index: int) -> BundleObject:
        obj = self._objects.get(index)
        if obj is None:
            obj, diags = build_object(self.documents()[index])
            if obj is None:  # the same data built an object when this result was made
                raise RuntimeError(f"document {index} of {self.path} no longer builds: {diags}")
            self._objects[index] = obj
        return obj


def file_result(
    source: SourceFile, load_diags: list[Diagnostic], checks: DocChecks = DocChecks()
) -> FileResult:
    """Stage 2 for one loaded file: model every document, run the document-local checks."""
    result = FileResult(source, list(load_diags), [], _documents={})
    for doc in source.documents:
        if doc.broken:  # already reported by the loader: only what it declares is kept
            assert result._documents is not None
            result._documents[doc.index] = doc
            result.entries.append(
                DocEntry(
                    doc.index,
                    doc.line,
                    str(doc.kind),
                    str(doc.api_version),
                    _declared_key(doc),
                    None,
                )
            )
            continue
        obj, obj_diags = build_object(doc)
        result.diagnostics.extend(obj_diags)
        for check in checks.every if obj is not None else checks.every + checks.invalid:
            result.diagnostics.extend(locate(doc, d) for d in check(doc))
        ref = None
        if obj is not None:
            ref = ObjectRef(obj.key, doc.file, doc.index, _attrs(obj))
            result._objects[doc.index] = obj
        assert result._documents is not None
        result._documents[doc.index] = doc
        result.entries.append(
            DocEntry(
                doc.index, doc.line, str(doc.kind), str(doc.api_version), _declared_key(doc), ref
            )
        )
    return result


def _attrs(obj: BundleObject) -> tuple[str, ...]:
    if isinstance(obj.spec, StandaloneStepSpec):
        return (obj.spec.scenario,)
    if isinstance(obj.spec, AgentSpec):
        return tuple(dict.fromkeys(obj.spec.scenarios))
    return ()


def _declared_key(doc: Document) -> Key:
    """What the document declares; with ``metadata:`` left empty and its ``name`` (and
    ``tenant``) dedented to the top level, those (FOC201 says to indent them)."""
    data = doc.data if isinstance(doc.data, dict) else {}
    meta = data.get("metadata")
    if meta in (None, {}):
        meta = {k: data[k] for k in ("name", "tenant") if isinstance(data.get(k), str)}
    meta = meta if isinstance(meta, dict) else {}
    name, kind = str(meta.get("name", "")), str(doc.kind)
    tenant = name if kind == "Tenant" else str(meta.get("tenant", ""))
    return (tenant, kind, name)


class Bundle:
    """The index over every file's objects; objects are built on first use.

    ``refs`` keeps the first definition of each (tenant, kind, name) in file order; later ones
    are in ``duplicate_refs`` for the uniqueness check. ``declared`` holds the key of every
    document that declares one, valid or not (a document of an unknown kind close to no known
    one declares :data:`~focalctl.bundle.kinds.UNKNOWN_KIND`): a reference to a
    declared-but-invalid object is not reported again (its own errors already are). Iteration is in (tenant, kind, name)
    order, never file order.
    """

    def __init__(self, results: Iterable[FileResult] = ()) -> None:
        self.results: dict[str, FileResult] = {}
        self.refs: dict[Key, ObjectRef] = {}
        self.duplicate_refs: list[ObjectRef] = []
        self.declared: set[Key] = set()
        self._sorted: list[Key] | None = None
        self._groups: dict[str, dict[Any, list[str]]] = {}
        self._fingerprints: dict[DepKey, str] = {}
        self._name_facts: dict[str, Callable[[str, str], list[str]]] = {
            Fact.DECLARED_NAMES: self.declared_names,
            Fact.OBJECT_NAMES: self.object_names,
            Fact.TENANTS_DEFINING: self.tenants_defining,
            Fact.STANDALONE_STEPS: self.standalone_steps,
            Fact.AGENTS_LISTING: self.agents_listing,
        }
        for result in results:
            self.results[result.path] = result
            for entry in result.entries:
                self.declared.add(entry.declared)
                if entry.ref is None:
                    continue
                if entry.ref.key in self.refs:
                    self.duplicate_refs.append(entry.ref)
                else:
                    self.refs[entry.ref.key] = entry.ref

    # -- files and documents --------------------------------------------------------------

    @property
    def files(self) -> list[SourceFile]:
        return [r.source for r in self.results.values()]

    @property
    def document_count(self) -> int:
        return sum(len(r.entries) for r in self.results.values())

    def document(self, file: str, index: int) -> Document | None:
        result = self.results.get(file)
        return result.documents().get(index) if result is not None else None

    # -- objects ----------------------------------------------------------------------------

    def object(self, ref: ObjectRef) -> BundleObject:
        return self.results[ref.file].object_at(ref.document)

    def get(self, tenant: str, kind: str, name: str) -> BundleObject | None:
        ref = self.refs.get((tenant, kind, name))
        return self.object(ref) if ref is not None else None

    def sorted_refs(self) -> list[ObjectRef]:
        if self._sorted is None:
            self._sorted = sorted(self.refs)
        return [self.refs[k] for k in self._sorted]

    def __iter__(self) -> Iterator[BundleObject]:
        return (self.object(ref) for ref in self.sorted_refs())

    def of_kind(self, kind: str, tenant: str | None = None) -> list[BundleObject]:
        return [
            self.object(r)
            for r in self.sorted_refs()
            if r.kind == kind and (tenant is None or r.tenant == tenant)
        ]

    # -- the facts checks and the compiler read besides objects -------------------------------

    def declared_names(self, tenant: str, kind: str) -> list[str]:
        return self._group(
            "declared", (tenant, kind), lambda: ((k[:2], k[2]) for k in self.declared)
        )

    def object_names(self, tenant: str, kind: str) -> list[str]:
        return self._group("objects", (tenant, kind), lambda: ((k[:2], k[2]) for k in self.refs))

    def declared_tenants(self) -> list[str]:
        return self._group(
            "tenants", "", lambda: (("", k[2]) for k in self.declared if k[1] == "Tenant")
        )

    def tenants_defining(self, kind: str, name: str) -> list[str]:
        return self._group("defining", (kind, name), lambda: ((k[1:], k[0]) for k in self.refs))

    def standalone_steps(self, tenant: str, scenario: str) -> list[str]:
        """Names of the ``kind: Step`` objects attached to ``scenario``, by name."""
        return self._group(
            "steps",
            (tenant, scenario),
            lambda: (
                ((r.tenant, r.attrs[0]), r.name) for r in self.refs.values() if r.kind == "Step"
            ),
        )

    def agents_listing(self, tenant: str, scenario: str) -> list[str]:
        """Names of the agents that list ``scenario``, by name."""
        return self._group(
            "agents",
            (tenant, scenario),
            lambda: (
                ((r.tenant, s), r.name)
                for r in self.refs.values()
                if r.kind == "Agent"
                for s in r.attrs
            ),
        )

    def _group(
        self, name: str, key: Any, pairs: Callable[[], Iterable[tuple[Any, str]]]
    ) -> list[str]:
        """``key`` → sorted values of an index built once per bundle from (key, value) pairs."""
        index = self._groups.get(name)
        if index is None:
            index = {}
            for k, v in pairs():
                index.setdefault(k, []).append(v)
            for values in index.values():
                values.sort()
            self._groups[name] = index
        return index.get(key, [])

    def fingerprint(self, dep: DepKey) -> str:
        """One fact of the index as a string; equal strings mean the fact is unchanged.

        - ``(Fact.OBJECT, t, k, n)``: where the first definition is, and its file's digest
          ("" if none)
        - ``(Fact.DECLARED, t, k, n)``: whether some document declares that key
        - ``(Fact.DECLARED_NAMES, t, k)`` / ``(Fact.OBJECT_NAMES, t, k)``: declared / valid
          names of a kind
        - ``(Fact.TENANTS,)``: the declared tenant names
        - ``(Fact.TENANTS_DEFINING, k, n)``: tenants with a valid object of that kind and name
        - ``(Fact.STANDALONE_STEPS, t, s)`` / ``(Fact.AGENTS_LISTING, t, s)``: standalone steps
          of / agents listing a scenario
        - ``(Fact.FILE, path)``: a file's digest (positions of diagnostics reported into it)
        """
        cached = self._fingerprints.get(dep)
        if cached is not None:
            return cached
        what = dep[0]
        if what == Fact.OBJECT:
            ref = self.refs.get((dep[1], dep[2], dep[3]))
            value = (
                f"{ref.file}\0{ref.document}\0{self.results[ref.file].source.digest}" if ref else ""
            )
        elif what == Fact.DECLARED:
            value = "1" if (dep[1], dep[2], dep[3]) in self.declared else ""
        elif what == Fact.TENANTS:
            value = "\0".join(self.declared_tenants())
        elif what == Fact.FILE:
            result = self.results.get(dep[1])
            value = result.source.digest if result is not None else ""
        else:
            value = "\0".join(self._name_facts[what](dep[1], dep[2]))
        self._fingerprints[dep] = value
        return value


def load_bundle(paths: Iterable[str | Path]) -> tuple[Bundle, list[Diagnostic]]:
    """Load and model every document under ``paths`` (no cache). Never raises on bad input."""
    files, diags = discover(paths)
    results = [file_result(*load_file(f, name)) for f, name in files]
    for r in results:
        diags.extend(r.diagnostics)
    return Bundle(results), diags
