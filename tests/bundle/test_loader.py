"""The loader on good and hostile input: positions, limits, and no tracebacks."""

from __future__ import annotations

import re
import time
import tracemalloc
from pathlib import Path

import pytest

from focalctl.bundle.loader import MAX_DEPTH, MAX_FILE_BYTES, load_bytes, load_file, load_paths
from focalctl.bundle.positions import locate
from focalctl.diagnostics import make
from tests.conftest import focalctl

HEADER = "apiVersion: focal/v1\nkind: Agent\nmetadata: {name: a, tenant: t}\n"


def codes(src: bytes) -> list[tuple[str, int | None, int | None]]:
    _, diags = load_bytes(src, "f.yaml")
    return [(d.code, d.line, d.column) for d in diags]


def test_reads_multi_document_files_and_types() -> None:
    src = (
        HEADER
        + "spec: {enabled: true, n: 3, x: 1.5, z: null, s: '2026-01-01', t: 2026-01-01}\n---\n"
        + HEADER
    ).encode()
    source, diags = load_bytes(src, "f.yaml")
    assert diags == []
    assert [d.index for d in source.documents] == [0, 1]
    spec = source.documents[0].data["spec"]
    assert spec == {
        "enabled": True,
        "n": 3,
        "x": 1.5,
        "z": None,
        "s": "2026-01-01",
        "t": "2026-01-01",
    }
    assert source.documents[0].kind == "Agent"


def test_yaml_12_booleans_are_strings() -> None:
    source, _ = load_bytes((HEADER + "spec: {a: yes, b: no, c: on}\n").encode(), "f.yaml")
    assert source.documents[0].data["spec"] == {"a": "yes", "b": "no", "c": "on"}


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        (b"a: 1\nb: 2\na: 3\n", [("FOC102", 3, 1)]),
        (b"- apiVersion: focal/v1\n", [("FOC103", 1, 1)]),
        (b"just a string\n", [("FOC103", 1, 1)]),
        (b"apiVersion: focal/v2\nkind: Agent\n", [("FOC110", 1, 13)]),
        (b"apiVersion: focal/v1\nkind: Agnet\n", [("FOC109", 2, 7)]),
        (b"kind: Agent\n", [("FOC111", 1, 1)]),
        (b"a: [1, 2\n", [("FOC101", 2, 1)]),
        (b"a: {b: 1\n  c\n", [("FOC101", 3, 1)]),
        (b"\tkey: value\n", [("FOC101", 1, 1)]),
        (b"", [("FOC104", 1, 1)]),
        (b"# only a comment\n", [("FOC104", 1, 1)]),
        (b"caf\xe9: 1\n", [("FOC105", 1, 4)]),
        (b"a: 1\nb: \xff\xfe\n", [("FOC105", 2, 4)]),
        (b"a: !!python/object:os.system x\n", [("FOC112", 1, 4)]),
        (b"a: !custom x\n", [("FOC112", 1, 4)]),
        (b"? [a, b]\n: 1\n", [("FOC113", 1, 3)]),
        (b"a: .nan\n", [("FOC114", 1, 4)]),
        (b"a: &x {b: 1}\n<<: *x\n", [("FOC112", 2, 1)]),
    ],
)
def test_bad_input_gives_one_located_diagnostic(
    src: bytes, expected: list[tuple[str, int, int]]
) -> None:
    assert codes(src) == expected


def test_unknown_kind_hint_suggests_the_closest_kind() -> None:
    _, diags = load_bytes(b"apiVersion: focal/v1\nkind: Scenaro\n", "f.yaml")
    assert diags[0].hint == "did you mean 'Scenario'?"


def test_ten_thousand_deep_nesting_is_bounded() -> None:
    for src in (
        b"a: " + b"[" * 10_000 + b"]" * 10_000,
        b"a: " + b"{b: " * 10_000 + b"1" + b"}" * 10_000,
    ):
        start = time.perf_counter()
        found = codes(src)
        assert time.perf_counter() - start < 5
        assert found[0][0] == "FOC107", found


@pytest.mark.parametrize(
    "body",
    [
        "[" * 30_000 + "]" * 30_000,  # flow
        "[" * 30_000,  # flow, never closed
        "{b: " * 30_000 + "1" + "}" * 30_000,
        "\n" + "- " * 30_000 + "x",  # block, compact: 2 bytes a level
        "\n" + "".join(" " * i + f"k{i}:\n" for i in range(3_000)),  # block, indented
    ],
    ids=["flow", "unclosed", "flow-map", "block-compact", "block-indented"],
)
def test_nesting_beyond_the_c_composers_stack_is_a_diagnostic(tmp_path: Path, body: str) -> None:
    """The C composer recurses per level and segfaults ~10^4 levels down: depth is measured
    on parse events before composing. In a subprocess, so that a crash fails only this test."""
    (tmp_path / "deep.yaml").write_text("x: " + body + "\n")
    proc = focalctl("validate", "--no-cache", "deep.yaml", cwd=tmp_path)
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert re.search(r"deep\.yaml:\d+:\d+: error\[FOC107\]", proc.stdout), proc.stdout[:500]


def test_deep_nesting_positions_agree_before_and_after_composing() -> None:
    """A file that could be deep is measured on events; one that cannot, on the node tree:
    the same document gives the same FOC107 either way."""
    src = b"a: " + b"[" * 70 + b"]" * 70
    composed = codes(src)
    padded = codes(src + b"\n# " + b"x" * 2_000 + b"\n")  # a long line: measured on events
    assert composed == padded == [("FOC107", 1, 4 + MAX_DEPTH - 1)]


def test_block_nesting_deeper_than_limit() -> None:
    src = "\n".join("  " * i + f"k{i}:" for i in range(MAX_DEPTH + 5)) + " 1\n"
    assert codes(src.encode())[0][0] == "FOC107"


def test_billion_laughs_is_rejected_fast_and_small() -> None:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
        prev = name
    src = ("\n".join(lines) + "\n").encode()
    tracemalloc.start()
    start = time.perf_counter()
    found = codes(src)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert found and found[0][0] == "FOC108"
    assert elapsed < 2
    assert peak < 50 * 1024 * 1024


def test_small_aliases_are_fine() -> None:
    src = (HEADER + "x: &d {debounce: 1s}\nspec: {settings: {turn: *d}}\n").encode()
    source, diags = load_bytes(src, "f.yaml")
    assert diags == []
    assert source.documents[0].data["spec"] == {"settings": {"turn": {"debounce": "1s"}}}


def test_fifty_megabyte_file_is_refused_without_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    tracemalloc.start()
    start = time.perf_counter()
    _, diags = load_file(big)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [d.code for d in diags] == ["FOC106"]
    assert str(MAX_FILE_BYTES) in diags[0].message
    assert elapsed < 1 and peak < 5 * 1024 * 1024


def test_missing_path_is_a_diagnostic(tmp_path: Path) -> None:
    result = load_paths([tmp_path / "nope"])
    assert [d.code for d in result.diagnostics] == ["FOC100"]


def test_directories_are_walked_sorted_skipping_hidden(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text(HEADER)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.yml").write_text(HEADER)
    (tmp_path / ".focal").mkdir()
    (tmp_path / ".focal" / "x.yaml").write_text("not: [valid")
    (tmp_path / "notes.txt").write_text("ignored")
    result = load_paths([tmp_path])
    assert result.diagnostics == []
    assert [Path(f.path).name for f in result.files] == ["b.yaml", "a.yml"]


def test_locate_points_at_value_key_and_missing_field() -> None:
    src = HEADER + "spec:\n  steps:\n    - id: a\n      transitions:\n        - to: confrim\n"
    source, _ = load_bytes(src.encode(), "f.yaml")
    doc = source.documents[0]
    d = locate(doc, make("FOC302", pointer="/spec/steps/0/transitions/0/to", name="confrim"))
    assert (d.file, d.line, d.column, d.end_column) == ("f.yaml", 8, 15, 22)
    d = locate(
        doc,
        make(
            "FOC201", pointer="/spec/steps/0/id", target="key", field="id", where="x", allowed="y"
        ),
    )
    assert (d.line, d.column) == (6, 7)
    d = locate(doc, make("FOC202", pointer="/spec/entry", field="entry", where="spec"))
    assert (d.line, d.column) == (4, 1)


@pytest.mark.parametrize(
    "value",
    ["1e400", "-1.5E+999", "1" + "0" * 400, "-0x" + "f" * 300, "9" * 5_000],
    ids=str.__len__,
)
def test_numbers_beyond_the_float_range_are_out_of_range(value: str) -> None:
    """They were 'must be a number, got an integer' (an int too big for a float field) or
    'not a finite number' (a finite literal that overflows)."""
    _, diags = load_bytes(
        f"{HEADER}spec: {{settings: {{llm: {{temperature: {value}}}}}}}\n".encode(), "f.yaml"
    )
    assert [(d.code, d.line, d.column) for d in diags] == [("FOC115", 4, 38)]
    assert "out of range" in diags[0].message and len(diags[0].message) < 120
