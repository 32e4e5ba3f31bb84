"""Where a YAML node is: the one function that turns ruamel's 0-based marks into the 1-based
line, column and end column that diagnostics and provenance show."""

from __future__ import annotations

from ruamel.yaml.nodes import Node, ScalarNode


def node_position(node: Node) -> tuple[int, int, int | None]:
    """(line, column, end column) of ``node``, 1-based. A one-line scalar spans its value; a
    scalar over several lines has no end column; a collection underlines only its opening
    token (its first line's first character)."""
    start, end = node.start_mark, node.end_mark
    line, col = start.line + 1, start.column + 1
    if isinstance(node, ScalarNode) and end.line == start.line:
        return line, col, end.column + 1
    if isinstance(node, ScalarNode):
        return line, col, None
    return line, col, col + 1


def node_line(node: Node) -> int:
    """The 1-based line ``node`` starts on."""
    return int(node.start_mark.line) + 1
