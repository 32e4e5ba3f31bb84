"""Markdown to plain text, for channels that cannot show markdown (SMS, voice, api).

The text is parsed by markdown-it-py (CommonMark, raw HTML left as text) and the tree is
written back as the text a reader would see: emphasis markers dropped, a link as
``text (url)`` unless its text is the url, list items as ``- item`` / ``1. item`` lines (nested
lists flattened), a
heading as its text, code as its text. Blocks are separated by a blank line (a list by a
line break). The output parses
back to itself for the constructs it produces, so formatting a plain part again is a no-op.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode


class _Parser(MarkdownIt):
    """CommonMark that keeps link destinations as written (no punycode, no %-escaping)."""

    def normalizeLink(self, url: str) -> str:
        return url


_PARSER = _Parser("commonmark", {"html": False})
_LISTS = ("bullet_list", "ordered_list")


def to_plain(markdown: str) -> str:
    """The plain text a reader sees in ``markdown``."""
    return _blocks(SyntaxTreeNode(_PARSER.parse(markdown)).children, "\n\n")


def _blocks(nodes: list[SyntaxTreeNode], separator: str) -> str:
    """Blocks joined by ``separator``, but a list follows the block before it on the next line:
    a plain "text\n- item" parses back to the same paragraph and list, whereas a blank line
    before a list would reappear in a part that was cut between the two."""
    joined = ""
    for node in nodes:
        if text := _block(node):
            gap = "\n" if node.type in _LISTS and not _bare_marker(text) else separator
            joined = f"{joined}{gap}{text}" if joined else text
    return joined


def _block(node: SyntaxTreeNode) -> str:
    kind = node.type
    if kind in ("paragraph", "heading"):
        return "".join(_inline(child) for child in node.children[0].children)
    if kind in ("fence", "code_block"):
        return node.content.rstrip("\n")
    if kind == "blockquote":
        return _blocks(node.children, "\n\n")
    if kind in _LISTS:
        start = int(str(node.attrs.get("start", 1)))
        markers = [
            f"{start + i}. " if kind == "ordered_list" else "- " for i in range(len(node.children))
        ]
        items = [item for item in map(_item, node.children, markers) if item]
        # Only empty items: their bare markers, so that a part "-" or "1." stays what it is.
        return "\n".join(items or (marker.rstrip() for marker in markers))
    return ""  # a thematic break shows nothing


def _bare_marker(text: str) -> bool:
    """Whether a list's text starts with a marker alone: under a line of text it would turn
    that line into a heading, so it keeps a blank line before it."""
    return " " not in text.partition("\n")[0]


def _item(item: SyntaxTreeNode, marker: str) -> str:
    """A list item: its marker before its blocks; nothing for an empty item. Nested lists come
    out flat and continuation lines unindented: an indented line would not read back the same
    in a part that was cut just before it."""
    text = _blocks(item.children, "\n")
    return f"{marker}{text}" if text else ""


def _inline(node: SyntaxTreeNode) -> str:
    kind = node.type
    if kind in ("text", "code_inline"):
        return node.content
    if kind in ("softbreak", "hardbreak"):
        return "\n"
    label = "".join(_inline(child) for child in node.children)
    if kind in ("link", "image"):
        url = str(node.attrs.get("href" if kind == "link" else "src", ""))
        if label in ("", url, url.removeprefix("mailto:")):
            return label or url
        return f"{label} ({url})"
    return label  # em, strong: their text
