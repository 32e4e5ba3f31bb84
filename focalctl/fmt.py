"""Canonical layout of bundle files: ``focalctl fmt``.

The layout is the one the examples are written in: ruamel.yaml's round trip (comments, the
``# yaml-language-server`` modeline, quoting and flow mappings kept) with 2-space mappings,
sequences indented under their key (``- `` two columns in), no line folding, ``---`` between
documents, no trailing whitespace and one final newline.

A file the loader rejects (a syntax error, a duplicate key, ...) is reported with the loader's
own diagnostics and never formatted. A formatted file is loaded again and must give the same
data as the original, or it is refused: formatting never changes what a bundle means.
Everything here is pure but :func:`write_atomic`.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from focalctl.bundle.loader import discover, load_bytes, read_source
from focalctl.diagnostics import Diagnostic, Severity

# Loader codes that mean the file cannot be formatted safely: it does not parse, or what it
# parses to is not plain data. (A document without a known kind still has a layout.)
_UNFORMATTABLE = {
    "FOC100",  # cannot be read
    "FOC101",  # YAML syntax error
    "FOC102",  # duplicate key
    "FOC105",  # not UTF-8
    "FOC106",  # too large
    "FOC107",  # nesting too deep
    "FOC108",  # alias expansion too large
    "FOC112",  # foreign tag
    "FOC113",  # key is not a string
    "FOC114",  # number not finite
    "FOC115",  # number out of range
}
_WIDTH = 1 << 20  # never fold a long line


class FormatError(Exception):
    """Formatting would change the file's data (a bug in fmt, not in the bundle)."""


@dataclass(slots=True)
class FileResult:
    """One file: its bytes, the canonical bytes (None when it could not be formatted) and the
    diagnostics that say why not."""

    path: Path
    name: str
    original: bytes
    formatted: bytes | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    error: str | None = None  # formatting was refused although the file loads

    @property
    def changed(self) -> bool:
        return self.formatted is not None and self.formatted != self.original

    @property
    def failed(self) -> bool:
        return self.formatted is None and (self.error is not None or bool(self.errors))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = _WIDTH
    return yaml


def format_text(text: str) -> str:
    """The canonical layout of one file's text (which must parse). Idempotent."""
    yaml = _yaml()
    docs = list(yaml.load_all(text.removeprefix("\ufeff")))
    if not docs:
        return text
    out = io.StringIO()
    yaml.dump_all(docs, out)
    return _tidy(out.getvalue())


def _tidy(text: str) -> str:
    """Trailing whitespace off every line but the content lines of block scalars (``|``,
    ``>``: there it is data), and exactly one final newline."""
    keep = _block_scalar_lines(text)
    lines = text.split("\n")
    lines = [line if i in keep else line.rstrip(" \t") for i, line in enumerate(lines)]
    body = "\n".join(lines)
    single = body.rstrip("\n") + "\n"
    if keep and _plain(single) != _plain(body):  # a kept (|+) block scalar ends the file
        return body if body.endswith("\n") else body + "\n"
    return single


def _plain(text: str) -> list[Any]:
    return list(YAML(typ="safe", pure=False).load_all(text))


def _block_scalar_lines(text: str) -> set[int]:
    lines: set[int] = set()
    for root in _yaml().compose_all(text):
        for node in _walk(root):
            if isinstance(node, ScalarNode) and node.style in ("|", ">"):
                end = node.end_mark.line if node.end_mark.column else node.end_mark.line - 1
                lines.update(range(node.start_mark.line + 1, end + 1))
    return lines


def _walk(node: Node | None) -> Iterator[Node]:
    seen: set[int] = set()
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        yield n
        if isinstance(n, MappingNode):
            for k, v in n.value:
                stack.extend((k, v))
        elif isinstance(n, SequenceNode):
            stack.extend(n.value)


def _data(raw: bytes, name: str) -> tuple[list[Any], list[Diagnostic]]:
    """What the file means: each document as the loader reads it (and as plain YAML, so that a
    document the loader sets aside, without a kind, is compared too)."""
    source, diags = load_bytes(raw, name)
    data: list[Any] = [d.data for d in source.documents]
    if not any(d.code in _UNFORMATTABLE for d in diags):
        data.append(_plain(raw.decode("utf-8").removeprefix("\ufeff")))
    return data, diags


def format_bytes(raw: bytes, name: str, path: Path | None = None) -> FileResult:
    """Format one file's bytes; never raises on bad input."""
    result = FileResult(path or Path(name), name, raw, None)
    before, diags = _data(raw, name)
    result.diagnostics = [d for d in diags if d.code in _UNFORMATTABLE]
    if result.errors:
        return result
    if any(d.code == "FOC104" for d in diags):  # no documents (only comments): nothing to lay out
        result.formatted = raw
        return result
    try:
        text = format_text(raw.decode("utf-8"))
    except (YAMLError, ValueError) as exc:
        result.error = f"cannot format {name}: {str(exc).splitlines()[0]}"
        return result
    formatted = text.encode("utf-8")
    after, _ = _data(formatted, name)
    if after != before:
        result.error = (
            f"formatting {name} would change its data; the file was left as it is "
            "(a bug in focalctl fmt: please report it with the file)"
        )
        return result
    result.formatted = formatted
    return result


def format_paths(paths: Iterable[str | Path]) -> tuple[list[FileResult], list[Diagnostic]]:
    """Every YAML file under ``paths`` (as validate finds them), formatted in memory; and the
    paths that could not be listed."""
    files, diags = discover(paths)
    results = []
    for path, name in files:
        raw, read_diags = read_source(path, name)
        if raw is None:
            results.append(FileResult(path, name, b"", None, read_diags))
        else:
            results.append(format_bytes(raw, name, path))
    return results, diags


def write_result(result: FileResult) -> bool:
    """Write a changed file in place; on failure the result says why (and is not changed)."""
    if not result.changed or result.formatted is None:
        return False
    try:
        write_atomic(result.path, result.formatted)
    except OSError as exc:
        result.formatted = None
        result.error = f"cannot write {result.name}: {exc.strerror or exc}"
        return False
    return True


def write_atomic(path: Path, data: bytes) -> None:
    """Replace the file's content at once (a temporary file beside it, then a rename): a
    reader or a crash sees the old bytes or the new ones, never half. Keeps its mode; a
    symbolic link stays a link (its target is replaced)."""
    real = Path(os.path.realpath(path))
    mode = real.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".fmt")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, real)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
