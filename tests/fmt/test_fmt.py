"""focalctl.fmt: the canonical layout keeps comments and meaning, and is a fixed point."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from focalctl.compile import compile_paths
from focalctl.fmt import format_bytes, format_paths, format_text, write_atomic
from tests.conftest import REPO

BUNDLE_FILES = sorted(
    p
    for root in (REPO / "examples", REPO / "agents.d")
    for p in root.rglob("*.y*ml")
    if not any(part.startswith(".") for part in p.relative_to(REPO).parts)
)


def test_there_are_example_files() -> None:
    assert len(BUNDLE_FILES) >= 15


@pytest.mark.parametrize("path", BUNDLE_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_committed_files_are_canonical_and_a_fixed_point(path: Path) -> None:
    raw = path.read_bytes()
    result = format_bytes(raw, path.name)
    assert result.formatted == raw, "run: focalctl fmt examples agents.d"
    assert format_text(raw.decode()) == raw.decode()


def _messy(text: str) -> str:
    """The same documents laid out differently: 4-space mappings, sequences flush with their
    key, trailing blanks after bare keys, no final newline."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=4, sequence=4, offset=0)
    yaml.width = 1 << 20
    out = io.StringIO()
    yaml.dump_all(list(yaml.load_all(text)), out)
    # Blanks after a bare key (never inside a block scalar, where they would be data).
    lines = out.getvalue().splitlines()
    return "\n".join(
        line + "  " if re.fullmatch(r" *[A-Za-z_]+:", line) else line for line in lines
    )


def _comment_gaps(text: str) -> str:
    return re.sub(r" +#", " #", text)


@pytest.mark.parametrize("example", ["examples/clinic", "examples/retail", "agents.d"])
def test_formatting_a_messy_bundle_restores_it_and_keeps_its_snapshot(
    example: str, tmp_path: Path
) -> None:
    tidy = tmp_path / "tidy"
    shutil.copytree(REPO / example, tidy)
    messy = tmp_path / "messy"
    shutil.copytree(REPO / example, messy)
    for f in messy.rglob("*.yaml"):
        f.write_text(_messy(f.read_text()))
    results, diags = format_paths([messy])
    assert results, f"no YAML files formatted in {example}"
    assert not diags and not any(r.failed for r in results)
    assert all(r.changed for r in results)
    for r in results:
        assert r.formatted is not None
        write_atomic(r.path, r.formatted)
    for f in tidy.rglob("*.yaml"):
        # An end-of-line comment keeps its column (ruamel's round trip), so only the blanks
        # before it may differ from the committed file.
        restored = (messy / f.relative_to(tidy)).read_text()
        assert _comment_gaps(restored) == _comment_gaps(f.read_text()), f
    before, after = compile_paths([tidy]), compile_paths([messy])
    assert before.ok and after.ok
    assert {t: s.id for t, s in before.snapshots.items()} == {
        t: s.id for t, s in after.snapshots.items()
    }


def test_comments_modeline_and_quotes_are_kept_and_whitespace_tidied() -> None:
    text = (
        "# yaml-language-server: $schema=../schemas/tenant.schema.json\n"
        "apiVersion: focal/v1   \n"
        "kind: Tenant\n"
        "metadata:\n"
        "    name: demo    # the tenant\n"
        "spec:\n"
        "    tags:\n"
        "    - 'a'\n"
        '    - "b"\n'
        "    note: |\n"
        "      kept   \n"
        "      as is\n"
        "---\n"
        "# second\n"
        "apiVersion: focal/v1\n"
        "kind: Agent\n\n\n"
    )
    assert format_text(text) == (
        "# yaml-language-server: $schema=../schemas/tenant.schema.json\n"
        "apiVersion: focal/v1\n"
        "kind: Tenant\n"
        "metadata:\n"
        "  name: demo      # the tenant\n"  # an end-of-line comment keeps its column
        "spec:\n"
        "  tags:\n"
        "    - 'a'\n"
        '    - "b"\n'
        "  note: |\n"
        "    kept   \n"  # block scalar content: the blanks are data
        "    as is\n"
        "---\n"
        "# second\n"
        "apiVersion: focal/v1\n"
        "kind: Agent\n"
    )


@pytest.mark.parametrize(
    ("raw", "code", "line", "column"),
    [
        (b"a: 1\nb: [1,\n", "FOC101", 3, 1),
        (b"a: 1\na: 2\n", "FOC102", 2, 1),
        (b"a: \xff\n", "FOC105", 1, 4),
    ],
)
def test_a_file_that_does_not_load_is_not_formatted(
    raw: bytes, code: str, line: int, column: int
) -> None:
    result = format_bytes(raw, "bad.yaml")
    assert result.formatted is None and result.failed and not result.changed
    assert [(d.code, d.file, d.line, d.column) for d in result.errors] == [
        (code, "bad.yaml", line, column)
    ]


def test_a_file_with_only_comments_is_left_alone() -> None:
    result = format_bytes(b"# nothing yet\n", "empty.yaml")
    assert result.formatted == b"# nothing yet\n" and not result.failed


def test_write_atomic_keeps_the_mode_and_leaves_no_temporary(tmp_path: Path) -> None:
    f = tmp_path / "a.yaml"
    f.write_text("a: 1\n")
    f.chmod(0o640)
    write_atomic(f, b"a: 2\n")
    assert f.read_bytes() == b"a: 2\n"
    assert f.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["a.yaml"]


_keys = st.from_regex(r"[a-z][a-zA-Z0-9_-]{0,8}", fullmatch=True)
_scalars = st.one_of(
    st.integers(-1000, 1000),
    st.booleans(),
    st.none(),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(_keys, inner, min_size=1, max_size=4)
    ),
    max_leaves=20,
)
_documents = st.lists(
    st.dictionaries(_keys, _values, min_size=1, max_size=5), min_size=1, max_size=3
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    docs=_documents,
    mapping=st.integers(2, 5),
    offset=st.integers(0, 3),
    flow=st.booleans(),
    comment=st.booleans(),
)
def test_fmt_is_idempotent_and_keeps_the_data(
    docs: list[dict[str, Any]], mapping: int, offset: int, flow: bool, comment: bool
) -> None:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    yaml.default_flow_style = flow
    out = io.StringIO()
    yaml.dump_all(docs, out)
    text = ("# a comment  \n" if comment else "") + out.getvalue()
    once = format_bytes(text.encode(), "gen.yaml")
    # ruamel's emitter writes a few plain scalars libyaml then refuses ({a: :0}): not ours.
    assume(not once.errors)
    assert once.error is None and once.formatted is not None, text
    twice = format_bytes(once.formatted, "gen.yaml")
    assert twice.formatted == once.formatted, text
    assert list(YAML(typ="safe").load_all(once.formatted)) == docs
    assert not any(line != line.rstrip(" \t") for line in once.formatted.decode().splitlines())
