"""The one function that turns a model path into a 1-based file:line:col.

Checks and the schema stage report against a document and a JSON pointer (or a pydantic
``loc`` tuple); :func:`locate` walks the document's composed node tree to the deepest node
that exists on that path and returns where it starts (and, on one line, where it ends).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from focalctl.bundle.loader import Document
from focalctl.bundle.marks import node_position
from focalctl.diagnostics import Diagnostic


def pointer(parts: Iterable[str | int]) -> str:
    """RFC 6901 JSON pointer for a path."""
    out = []
    for p in parts:
        out.append("/" + str(p).replace("~", "~0").replace("/", "~1"))
    return "".join(out)


def parse_pointer(ptr: str) -> list[str]:
    if not ptr:
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in ptr.split("/")[1:]]


def find_node(root: Node, parts: Sequence[str | int], target: str = "value") -> tuple[Node, bool]:
    """The node at ``parts`` (or the deepest existing ancestor) and whether it was found exactly.

    With ``target="key"`` and a mapping entry at the end of the path, the key node is returned.
    """
    node = root
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, MappingNode):
            for knode, vnode in node.value:
                if isinstance(knode, ScalarNode) and knode.value == str(part):
                    node = knode if (last and target == "key") else vnode
                    break
            else:
                return node, False
        elif isinstance(node, SequenceNode):
            try:
                idx = int(part)
            except (TypeError, ValueError):
                return node, False
            if not 0 <= idx < len(node.value):
                return node, False
            node = node.value[idx]
        else:
            return node, False
    return node, True


def span_in_scalar(node: Node, text: str) -> tuple[int, int] | None:
    """The 1-based (column, end column) of ``text`` inside a one-line scalar, when its
    spelling in the file can be known from the value alone (plain, or quoted with nothing
    escaped before it); None otherwise (the caller points at the whole value)."""
    if not isinstance(node, ScalarNode) or node.start_mark.line != node.end_mark.line:
        return None
    value = str(node.value)
    idx = value.find(text)
    if idx < 0 or not value[:idx].isprintable():
        return None
    style = node.style
    if style is None:
        offset = 0
    elif style == '"' and not any(c in value[:idx] for c in '\\"'):
        offset = 1
    elif style == "'" and "'" not in value[:idx]:
        offset = 1
    else:
        return None
    col = node.start_mark.column + 1 + offset + idx
    return col, col + len(text)


def locate(doc: Document, diag: Diagnostic) -> Diagnostic:
    """Fill ``file``, ``line``, ``column`` of a diagnostic that points into ``doc``.

    ``target`` is ``value`` (the node at the pointer), ``key`` (its key) or ``span:TEXT``
    (``TEXT`` inside the value, e.g. one variable of a template)."""
    if diag.line is not None:
        return diag if diag.file else replace(diag, file=doc.file)
    parts = parse_pointer(diag.pointer)
    if diag.target.startswith("span:"):
        node, exact = find_node(doc.node, parts, "value")
        span = span_in_scalar(node, diag.target.removeprefix("span:")) if exact else None
        if span is not None:
            line = node.start_mark.line + 1
            return replace(
                diag,
                file=doc.file,
                line=line,
                column=span[0],
                end_column=span[1],
                document=doc.index,
            )
        return locate(doc, replace(diag, target="value"))
    node, exact = find_node(doc.node, parts, diag.target)
    if not exact and isinstance(node, MappingNode):
        # A missing field: point at the key that owns the mapping, if any, else its start.
        parent_parts = parts[: max(len(parts) - 1, 0)]
        key_node, found = (
            find_node(doc.node, parent_parts, "key") if parent_parts else (node, False)
        )
        if found and isinstance(key_node, ScalarNode):
            node = key_node
    line, col, end = node_position(node)
    return replace(diag, file=doc.file, line=line, column=col, end_column=end, document=doc.index)
