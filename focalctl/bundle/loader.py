"""Files → documents with positions.

Reads ``*.yaml``/``*.yml`` files with ruamel.yaml's libyaml-backed composer, which keeps the
start and end mark of every node, and turns the node tree into plain Python data itself so it
can reject what YAML would silently accept: duplicate keys, non-string keys, foreign tags,
non-finite numbers. Hostile input is bounded before any expansion: file size, nesting depth
and the size aliases would expand to are measured on the composed graph (linear in the source),
so a billion-laughs document costs microseconds, not gigabytes. The C composer recurses once per
nesting level and crashes the process (a segfault, no message) some ten thousand levels down,
so a file that *could* be that deep (a cheap upper bound, :func:`_depth_bound`) has its depth
measured on the parser's event stream first, which the C parser emits without recursion.

Positions are not copied into a side table: each :class:`Document` keeps its root node, and
:func:`focalctl.bundle.positions.locate` walks it only for pointers that have a diagnostic.
"""

from __future__ import annotations

import errno
import hashlib
import math
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from focalctl.bundle.marks import node_line, node_position
from focalctl.diagnostics import Diagnostic, make

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES_PER_DOCUMENT = 200_000
# Files whose nesting could exceed this are measured on parse events before composing; the C
# composer is known to survive ten times as deep on a main thread's stack.
SAFE_COMPOSE_DEPTH = 1_000
YAML_SUFFIXES = (".yaml", ".yml")

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null"))
_PLAIN_AS_STRING = {f"{_TAG}{t}" for t in ("timestamp", "binary", "merge", "value", "yaml")}
_MAP, _SEQ = f"{_TAG}map", f"{_TAG}seq"
_FLOAT_MAX = sys.float_info.max
# More significant digits than this, in base 8 or more, is beyond the float range (and past
# 4,300 int() refuses to convert).
_MAX_INT_DIGITS = 400


@dataclass(slots=True)
class Document:
    """One YAML document of a bundle file: its data and the node tree it came from.

    A document restored from the partial-parse cache has no node tree until a position is
    asked for (a diagnostic to locate, provenance to record); ``reparse`` then parses its
    file's bytes again, once per file.
    """

    file: str
    index: int
    data: Any
    line: int  # 1-based line where the document starts
    kind: str | None = None
    api_version: str | None = None
    _node: Node | None = None
    reparse: NodeReparser | None = None
    # A document rejected by the loader (a duplicate key, a foreign tag, ...) that still says
    # what it declares: ``data`` holds only its apiVersion, kind and metadata name and tenant,
    # so that references to it are not reported too; it is never modelled or checked.
    broken: bool = False

    @property
    def node(self) -> Node:
        if self._node is None:
            if self.reparse is None:
                raise LookupError(f"no node tree for document {self.index} of {self.file}")
            self._node = self.reparse.node(self.index)
        return self._node

    def diag(
        self,
        code: str,
        pointer: str,
        *,
        target: str = "value",
        hint: str | None = None,
        **params: Any,
    ) -> Diagnostic:
        """A diagnostic about this document at ``pointer``, to be located by the caller."""
        return make(
            code,
            file=self.file,
            document=self.index,
            pointer=pointer,
            target=target,
            hint=hint,
            **params,
        )


class NodeReparser:
    """Parses one file again, on first use, for the node trees (positions) of the documents
    restored from the partial-parse cache, which keeps only their data."""

    def __init__(self, raw: bytes, name: str) -> None:
        self._raw, self._name = raw, name
        self._nodes: dict[int, Node] | None = None

    def node(self, index: int) -> Node:
        if self._nodes is None:
            source, _ = load_bytes(self._raw, self._name)
            self._nodes = {d.index: d.node for d in source.documents if d._node is not None}
        return self._nodes[index]


@dataclass(slots=True)
class SourceFile:
    """A bundle file as read: display path, raw bytes, their sha256 and its documents."""

    path: str
    raw: bytes
    documents: list[Document] = field(default_factory=list)
    digest: str = ""

    def __post_init__(self) -> None:
        if not self.digest:
            self.digest = hashlib.sha256(self.raw).hexdigest()


@dataclass(slots=True)
class LoadResult:
    files: list[SourceFile]
    diagnostics: list[Diagnostic]

    @property
    def documents(self) -> Iterator[Document]:
        for f in self.files:
            yield from f.documents


class _Resolver(VersionedResolver):
    """The YAML 1.2 resolver with its version looked up once, not per scalar.

    ruamel's resolver probes the (pure-Python) scanner for a ``%YAML`` directive on every scalar,
    through two caught AttributeErrors; with the C parser there is no such scanner, so the answer
    is always the loader's version. Caching it makes composing ~25% faster.
    """

    _table: Any = None

    @property
    def versioned_resolver(self) -> Any:
        if self._table is None:
            self._table = super().versioned_resolver
        return self._table


@cache
def _yaml() -> YAML:
    """One loader for every file: ``YAML()`` looks for plug-ins on disk each time it is made
    (a glob; 7 % of validating 3,000 files), and ``compose_all`` keeps no state between calls."""
    yaml = YAML(typ="safe", pure=False)
    yaml.Resolver = _Resolver
    return yaml


class _Reject(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def display_path(path: Path) -> str:
    """A stable, relative-when-possible path for messages (posix separators)."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # different drive on Windows
        rel = str(path)
    return Path(rel).as_posix() if not rel.startswith("..") else path.as_posix()


def discover(paths: Iterable[str | Path]) -> tuple[list[tuple[Path, str]], list[Diagnostic]]:
    """Expand directories into their YAML files (path, display path), sorted by path parts,
    each file once; report paths that do not exist or cannot be listed. Hidden files and
    directories (a name starting with '.') are skipped; symlinked directories are not followed.

    A symbolic link is never read through when its target is outside the bundle root (the
    directory given, or a given file's directory): ``ln -s /etc/shadow s.yaml`` is refused
    with a diagnostic at the link, and so is a link whose target cannot be resolved (a loop).
    """
    found: list[tuple[Path, str, str]] = []  # (path, display path, real path)
    diags: list[Diagnostic] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found.extend(_walk(p, diags))
        elif p.is_file():
            name = display_path(p)
            if p.is_symlink():
                refused = _refused_link(p, name, os.path.realpath(p.parent))
                if refused is not None:
                    diags.append(refused)
                    continue
            found.append((p, name, os.path.realpath(p)))
        else:
            broken = _stat_error(p) if p.is_symlink() else None
            if broken is not None:
                diags.append(_cannot_read(str(raw), broken, "fix or remove the link"))
            else:
                diags.append(_cannot_read(str(raw), "no such file or directory"))
    seen: set[str] = set()
    unique = []
    for path, name, real in found:
        if real not in seen:
            seen.add(real)
            unique.append((path, name))
    return unique, diags


def _cannot_read(name: str, reason: str, hint: str | None = None) -> Diagnostic:
    return make("FOC100", file=name, line=1, column=1, path=name, reason=reason, hint=hint)


def _stat_error(path: Path, *, loops_only: bool = False) -> str | None:
    """Why following the link ``path`` fails (a loop, a missing target), or None if it does
    not (with ``loops_only``, None for anything but a loop)."""
    try:
        os.stat(path)
    except OSError as exc:
        if loops_only and exc.errno != errno.ELOOP:
            return None
        return f"symbolic link: {exc.strerror or exc}".lower()
    return None


def _refused_link(path: Path, name: str, root_real: str) -> Diagnostic | None:
    """The diagnostic refusing the symbolic link ``path``, or None when it may be followed:
    its target resolves, and lies inside ``root_real``."""
    error = _stat_error(path)
    if error is not None:
        return _cannot_read(name, error, "fix or remove the link")
    target = os.path.realpath(path)
    if target == root_real or target.startswith(root_real.rstrip(os.sep) + os.sep):
        return None
    return _cannot_read(
        name,
        f"it is a symbolic link to {target}, outside the bundle (not followed)",
        "copy the file into the bundle, or point the link at a file inside it",
    )


def _walk(root: Path, diags: list[Diagnostic]) -> list[tuple[Path, str, str]]:
    """YAML files below ``root``, ordered like ``sorted(root.rglob("*"))``; display and real
    paths are derived from the root's, so a large tree costs one stat per entry. A directory
    that cannot be listed and a refused symbolic link are reported into ``diags``."""
    top = display_path(root)
    top_real = os.path.realpath(root)
    rels: list[tuple[list[str], bool]] = []  # (relative parts, is a symlink)
    stack = [""]

    def shown(rel: str) -> str:
        return rel if top == "." else f"{top}/{rel}"

    while stack:
        rel_dir = stack.pop()
        try:
            with os.scandir(root / rel_dir if rel_dir else root) as listing:
                entries = list(listing)
        except OSError as exc:
            diags.append(_cannot_read(shown(rel_dir) if rel_dir else top, exc.strerror or str(exc)))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            is_yaml = entry.name.endswith(YAML_SUFFIXES)
            try:
                link = entry.is_symlink()
                if link:
                    # A YAML-named link must resolve; any other (a directory) must not loop.
                    broken = _stat_error(root / rel, loops_only=not is_yaml)
                    if broken is not None:
                        diags.append(_cannot_read(shown(rel), broken, "fix or remove the link"))
                        continue
                    is_dir = entry.is_dir()
                    if is_dir or (is_yaml and entry.is_file()):
                        refused = _refused_link(root / rel, shown(rel), top_real)
                        if refused is not None:
                            diags.append(refused)
                            continue
                    if is_dir:
                        continue  # symlinked directories inside the bundle are not followed
                elif entry.is_dir():
                    stack.append(rel)
                    continue
                if is_yaml and entry.is_file():
                    rels.append((rel.split("/"), link))
            except OSError as exc:
                diags.append(_cannot_read(shown(rel), exc.strerror or str(exc)))
    rels.sort(key=lambda item: item[0])
    out = []
    for parts, link in rels:
        rel = "/".join(parts)
        path = root / rel
        real = os.path.realpath(path) if link else f"{top_real}/{rel}"
        out.append((path, shown(rel), real))
    return out


def load_paths(paths: Iterable[str | Path]) -> LoadResult:
    files, diags = discover(paths)
    result = LoadResult(files=[], diagnostics=diags)
    for f, name in files:
        source, fdiags = load_file(f, name)
        result.files.append(source)
        result.diagnostics.extend(fdiags)
    return result


def read_source(path: Path, name: str) -> tuple[bytes | None, list[Diagnostic]]:
    """A file's bytes, or the diagnostic saying why they cannot be read (too big, unreadable)."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, [
                make("FOC106", file=name, line=1, column=1, size=size, limit=MAX_FILE_BYTES)
            ]
        return path.read_bytes(), []
    except OSError as exc:
        return None, [
            make("FOC100", file=name, line=1, column=1, path=name, reason=exc.strerror or str(exc))
        ]


def load_file(path: Path, display: str | None = None) -> tuple[SourceFile, list[Diagnostic]]:
    name = display or display_path(path)
    raw, diags = read_source(path, name)
    if raw is None:
        return SourceFile(name, b""), diags
    return load_bytes(raw, name)


def load_bytes(raw: bytes, name: str) -> tuple[SourceFile, list[Diagnostic]]:
    """Parse one file's bytes into documents; never raises on bad input."""
    source = SourceFile(name, raw)
    if len(raw) > MAX_FILE_BYTES:
        return source, [
            make("FOC106", file=name, line=1, column=1, size=len(raw), limit=MAX_FILE_BYTES)
        ]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        reason = f"byte 0x{raw[exc.start]:02x} at offset {exc.start}"
        return source, [make("FOC105", file=name, line=line, column=col, reason=reason)]
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        off = text.index("\x00")
        line = text.count("\n", 0, off) + 1
        return source, [make("FOC105", file=name, line=line, column=1, reason="NUL byte in text")]
    yaml = _yaml()
    diags: list[Diagnostic] = []
    try:
        if _depth_bound(text) > SAFE_COMPOSE_DEPTH:
            too_deep = _deep_event(text)
            if too_deep is not None:
                line, col = too_deep
                return source, [make("FOC107", file=name, line=line, column=col, limit=MAX_DEPTH)]
        nodes = list(yaml.compose_all(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        col = mark.column + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        for index, start, declared in _declared_before_error(text):
            source.documents.append(
                Document(
                    name,
                    index,
                    declared,
                    start,
                    declared["kind"],
                    declared["apiVersion"],
                    broken=True,
                )
            )
        return source, [make("FOC101", file=name, line=line, column=col, problem=problem)]
    except (YAMLError, RecursionError, ValueError) as exc:
        return source, [
            make("FOC101", file=name, line=1, column=1, problem=str(exc).splitlines()[0])
        ]
    nodes = [n for n in nodes if n is not None]
    if not nodes:
        return source, [make("FOC104", file=name, line=1, column=1)]
    for index, node in enumerate(nodes):
        try:
            _bound(node, name)
            data = _to_python(node, name, 0)
        except _Reject as rej:
            diags.append(rej.diagnostic)
            stub = _declaration(node)
            if stub is not None:
                source.documents.append(
                    Document(
                        name,
                        index,
                        stub,
                        node_line(node),
                        kind=stub["kind"],
                        api_version=stub["apiVersion"],
                        _node=node,
                        broken=True,
                    )
                )
            continue
        doc = Document(name, index, data, node_line(node), _node=node)
        if _is_empty(node):
            continue
        header = _header(doc)
        if header is not None:
            diags.append(header)
            stub = _declaration(node, guess_kind=True) if header.code == "FOC109" else None
            if stub is not None:  # references to its name are not called unknown
                source.documents.append(
                    Document(
                        name,
                        index,
                        stub,
                        doc.line,
                        kind=stub["kind"],
                        api_version=stub["apiVersion"],
                        _node=node,
                        broken=True,
                    )
                )
            continue
        source.documents.append(doc)
    return source, diags


def _depth_bound(text: str) -> int:
    """An upper bound on the nesting depth of any node in ``text``, in linear C-speed passes.

    A block collection nested in another starts on a greater column, except a sequence that is
    a mapping's value (``a:\n- x``), whose items start further right again: so block depth is
    at most twice the longest line, plus one. Flow collections hold no block ones and each
    opens with a bracket; aliases are not expanded by the composer.
    """
    longest = max(map(len, text.split("\n")), default=0)
    return 2 * (longest + 1) + 1 + text.count("[") + text.count("{")


def _deep_event(text: str) -> tuple[int, int] | None:
    """Where (1-based line, column) a node first lies deeper than MAX_DEPTH, counted over the
    parser's events (no recursion, no node tree); None if nowhere. Raises YAML errors."""
    from _ruamel_yaml import CParser  # the C parser that _yaml() composes with

    parser = CParser(text)
    depth = 0
    try:
        while parser.check_event():
            event = parser.get_event()
            kind = type(event).__name__
            if kind in ("MappingStartEvent", "SequenceStartEvent"):
                depth += 1
            elif kind in ("MappingEndEvent", "SequenceEndEvent"):
                depth -= 1
                continue
            elif kind not in ("ScalarEvent", "AliasEvent"):
                continue
            if depth + (kind in ("ScalarEvent", "AliasEvent")) > MAX_DEPTH:
                mark = event.start_mark
                return mark.line + 1, mark.column + 1
    finally:
        parser.dispose()
    return None


def _declared_before_error(text: str) -> list[tuple[int, int, dict[str, Any]]]:
    """What the documents of a file with a syntax error declare, read from the parser's events
    up to the error: (document index, first line, declaration) for each document whose root
    mapping names a known kind before the error (see :func:`_declaration`)."""
    from _ruamel_yaml import CParser

    out: list[tuple[int, int, dict[str, Any]]] = []
    index, start, depth = -1, 1, 0
    top: dict[str, str] = {}
    meta: dict[str, str] = {}
    # The key awaiting its value in the root mapping (depth 1) and in metadata (depth 2);
    # None: the next node is a key. A collection as a key is skipped (its key is "").
    pending: dict[int, str | None] = {1: None, 2: None}
    root_map = in_meta = False

    def flush() -> None:
        stub = _stub(top.get("kind"), top.get("apiVersion"), meta)
        if index >= 0 and stub is not None:
            out.append((index, start, stub))

    parser = CParser(text)
    try:
        while parser.check_event():
            event = parser.get_event()
            kind = type(event).__name__
            if kind == "DocumentStartEvent":
                flush()
                index, start, depth = index + 1, event.start_mark.line + 1, 0
                top, meta, pending = {}, {}, {1: None, 2: None}
                root_map = in_meta = False
                continue
            level = 2 if in_meta and depth == 2 else 1 if root_map and depth == 1 else 0
            if kind in ("ScalarEvent", "AliasEvent"):
                value = str(getattr(event, "value", "") or "")
                if level and pending[level] is None:
                    pending[level] = value
                elif level:
                    key, pending[level] = pending[level], None
                    (meta if level == 2 else top).setdefault(str(key), value)
            elif kind in ("MappingStartEvent", "SequenceStartEvent"):
                if depth == 0:
                    root_map = kind == "MappingStartEvent"
                elif level and pending[level] is None:
                    pending[level] = ""  # a collection as a key: its value is ignored
                elif level:
                    key, pending[level] = pending[level], None
                    if level == 1:
                        in_meta = key == "metadata" and kind == "MappingStartEvent"
                depth += 1
            elif kind in ("MappingEndEvent", "SequenceEndEvent"):
                depth -= 1
                if depth == 1:
                    in_meta = False
    except YAMLError:
        pass  # the error composing already reported: what was read before it is kept
    finally:
        parser.dispose()
    flush()
    return out


def _stub(kind: str | None, api: str | None, meta: dict[str, str]) -> dict[str, Any] | None:
    from focalctl.bundle.kinds import KIND_NAMES

    if kind not in KIND_NAMES:
        return None
    fields = {k: meta[k] for k in ("name", "tenant") if k in meta}
    return {"apiVersion": api or "", "kind": kind, "metadata": fields}


def _declaration(node: Node, *, guess_kind: bool = False) -> dict[str, Any] | None:
    """What a rejected document declares, read from its top-level scalars only: apiVersion,
    a known kind, and metadata's name and tenant (strings); None if it declares no kind.

    With ``guess_kind``, an unknown kind close to a known one (``Tool``) declares that one
    (``ToolEffect``), the kind its author meant; one close to none (``Widget``) declares
    :data:`~focalctl.bundle.kinds.UNKNOWN_KIND`, which stands for every kind."""
    from focalctl.bundle.kinds import KIND_NAMES, UNKNOWN_KIND
    from focalctl.diagnostics.suggest import closest

    if not isinstance(node, MappingNode):
        return None
    top: dict[str, Node] = {}
    for k, v in node.value:
        if isinstance(k, ScalarNode) and k.tag == _STR:
            top.setdefault(k.value, v)
    kind, api, meta = top.get("kind"), top.get("apiVersion"), top.get("metadata")
    if not (isinstance(kind, ScalarNode) and kind.tag == _STR):
        return None
    kind_name = (closest(kind.value, KIND_NAMES) or UNKNOWN_KIND) if guess_kind else kind.value
    if kind_name not in KIND_NAMES and kind_name != UNKNOWN_KIND:
        return None
    fields: dict[str, str] = {}
    if isinstance(meta, MappingNode):
        for k, v in meta.value:
            if (
                isinstance(k, ScalarNode)
                and k.value in ("name", "tenant")
                and isinstance(v, ScalarNode)
                and v.tag == _STR
            ):
                fields.setdefault(k.value, v.value)
    version = api.value if isinstance(api, ScalarNode) and api.tag == _STR else ""
    return {"apiVersion": version, "kind": kind_name, "metadata": fields}


def _is_empty(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL


def _reject(code: str, name: str, node: Node, **params: Any) -> _Reject:
    line, col, end = node_position(node)
    return _Reject(make(code, file=name, line=line, column=col, end_column=end, **params))


def _bound(root: Node, name: str) -> None:
    """Reject excessive depth or alias expansion, in time linear in the composed graph."""
    sizes: dict[int, int] = {}
    # Iterative post-order walk; shared (aliased) nodes are measured once and memoised.
    stack: list[tuple[Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        if depth > MAX_DEPTH:
            raise _reject("FOC107", name, node, limit=MAX_DEPTH)
        key = id(node)
        if isinstance(node, ScalarNode):
            sizes[key] = 1
            continue
        children = _children(node)
        if done:
            total = 1 + sum(sizes[id(c)] for c in children)
            if total > MAX_NODES_PER_DOCUMENT:
                raise _reject("FOC108", name, node, limit=MAX_NODES_PER_DOCUMENT)
            sizes[key] = total
            continue
        if key in sizes:
            continue
        stack.append((node, depth, True))
        stack.extend((c, depth + 1, False) for c in children if id(c) not in sizes)


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        out: list[Node] = []
        for k, v in node.value:
            out.append(k)
            out.append(v)
        return out
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _to_python(node: Node, name: str, depth: int) -> Any:
    # Depth is already bounded by _bound, so recursion here is safe and fast.
    if isinstance(node, ScalarNode):
        return _scalar(node, name)
    if isinstance(node, SequenceNode):
        if node.tag != _SEQ:
            raise _reject("FOC112", name, node, tag=node.tag)
        return [_to_python(child, name, depth + 1) for child in node.value]
    if isinstance(node, MappingNode):
        if node.tag != _MAP:
            raise _reject("FOC112", name, node, tag=node.tag)
        out: dict[str, Any] = {}
        first: dict[str, Node] = {}
        for knode, vnode in node.value:
            if not isinstance(knode, ScalarNode):
                raise _reject(
                    "FOC113",
                    name,
                    knode,
                    found="a " + ("list" if isinstance(knode, SequenceNode) else "mapping"),
                )
            if knode.tag == _MAP.replace("map", "merge"):
                raise _reject("FOC112", name, knode, tag="<< (merge key)")
            key = knode.value if knode.tag == _STR else str(_scalar(knode, name))
            if key in first:
                raise _reject("FOC102", name, knode, key=key, first_line=node_line(first[key]))
            first[key] = knode
            out[key] = _to_python(vnode, name, depth + 1)
        return out
    raise _reject("FOC101", name, node, problem="unexpected node")


def _scalar(node: ScalarNode, name: str) -> Any:
    tag, value = node.tag, node.value
    if tag == _STR or tag in _PLAIN_AS_STRING:
        return value
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return value.lower() == "true"
    if tag == _INT:
        digits = value.replace("_", "").lstrip("+-")
        digits = digits[2:] if digits[1:2] in ("x", "o") else digits
        if len(digits.lstrip("0")) > _MAX_INT_DIGITS:  # beyond any float (and int() refuses)
            raise _reject("FOC115", name, node, value=_short(value), limit=f"{_FLOAT_MAX:.1e}")
        try:
            integer = int(value.replace("_", ""), 0)
        except ValueError:
            try:
                integer = int(value.replace("_", ""))
            except ValueError:
                return value
        if abs(integer) > _FLOAT_MAX:  # no field takes it, and as a number it is infinite
            raise _reject("FOC115", name, node, value=_short(value), limit=f"{_FLOAT_MAX:.1e}")
        return integer
    if tag == _FLOAT:
        if value.lower().lstrip("+-") in (".nan", ".inf"):
            raise _reject("FOC114", name, node, value=value)
        try:
            number = float(value.replace("_", ""))
        except ValueError:
            return value
        if not math.isfinite(number):  # a finite literal that overflows: 1e400
            raise _reject("FOC115", name, node, value=_short(value), limit=f"{_FLOAT_MAX:.1e}")
        return number
    raise _reject("FOC112", name, node, tag=tag)


def _short(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:10]}…{text[-10:]} ({len(text)} characters)"


def _header(doc: Document) -> Diagnostic | None:
    """Check the envelope's type fields; return a diagnostic when the document is unusable."""
    from focalctl.bundle.kinds import KIND_NAMES

    data = doc.data
    if not isinstance(data, dict):
        found = "a list" if isinstance(data, list) else f"a {type(data).__name__}"
        line, col, end = node_position(doc.node)
        return make(
            "FOC103",
            file=doc.file,
            document=doc.index,
            line=line,
            column=col,
            end_column=end,
            found=found,
        )
    for fld in ("apiVersion", "kind"):
        if fld not in data:
            line, col, _ = node_position(doc.node)
            return make(
                "FOC111", file=doc.file, document=doc.index, line=line, column=col, field=fld
            )
    api = data["apiVersion"]
    if api != "focal/v1":
        node = _value_node(doc.node, "apiVersion")
        line, col, end = node_position(node)
        return make(
            "FOC110",
            file=doc.file,
            document=doc.index,
            line=line,
            column=col,
            end_column=end,
            found=api,
        )
    kind = data["kind"]
    if kind not in KIND_NAMES:
        from focalctl.diagnostics.suggest import did_you_mean_or_list

        node = _value_node(doc.node, "kind")
        line, col, end = node_position(node)
        hint = did_you_mean_or_list(str(kind), KIND_NAMES)
        return make(
            "FOC109",
            file=doc.file,
            document=doc.index,
            line=line,
            column=col,
            end_column=end,
            kind=kind,
            hint=hint,
            kinds=", ".join(KIND_NAMES),
        )
    doc.kind = str(kind)
    doc.api_version = str(api)
    return None


def _value_node(mapping: Node, key: str) -> Node:
    for k, v in mapping.value:
        if isinstance(k, ScalarNode) and k.value == key:
            return v  # type: ignore[no-any-return]
    return mapping
