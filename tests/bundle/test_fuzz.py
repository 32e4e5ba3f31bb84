"""Fuzzing validate: valid bundles (examples/retail, agents.d) mutated at random never crash it.

Each example copies the two bundles to a temporary directory, applies one to three mutations
(byte flips, truncation, deep nesting, a long token, odd Unicode, symbolic links out of the
bundle, loops, a file replaced by a directory) and runs ``focalctl validate`` in-process
through typer's runner, in a random output format, with or without the partial-parse cache.
Whatever the input: exit 0 or 1, no exception, no traceback, a bounded time.

200 examples by default (~45 s on this 2-core machine, always the same ones); set FOCAL_FUZZ_EXAMPLES=3000 for the
``slow`` run with as many new ones (~2.5 min).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from focalctl.cli.main import app
from tests.conftest import REPO

BUNDLES = {"retail": REPO / "examples" / "retail", "agents": REPO / "agents.d"}
FILES = sorted(
    f"{name}/{p.relative_to(root).as_posix()}"
    for name, root in BUNDLES.items()
    for p in root.rglob("*.yaml")
)
DEFAULT_EXAMPLES = 200
SECONDS_PER_EXAMPLE = 20

ODD = [
    "\u202e",  # right-to-left override
    "\ufeff",  # a BOM, not at the start
    "\u0000",
    "\x1b[31m",  # an ANSI escape
    "\u2028",  # line separator
    "\x85",  # next line
    "\u0301" * 50,  # combining marks
    "😀:x:[b]",  # an emoji, an emoji shortcode, rich markup
    "\U0010ffff",
    "\t",
    "\r",
    "'",
    '"',
    "{{",
    "}}",
    "&a",
    "*a",
    "!!python/object:os.system",
    ": ",
    "- ",
    "? ",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
]
RAW_BYTES = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xe9", b"\x00"]
LONG_RUNS = ["a", "eyJ-", "a://", "{{", "sk_live_", "9", " ", "-", "[", "{", "é"]


@st.composite
def mutation(draw: st.DrawFn) -> tuple[str, str, tuple[object, ...]]:
    file = draw(st.sampled_from(FILES))
    kind = draw(
        st.sampled_from(
            ["flip", "truncate", "nest", "token", "unicode", "bytes", "link", "loop", "dir"]
        )
    )
    pos = draw(st.floats(0, 1))
    if kind == "flip":
        args: tuple[object, ...] = (
            pos,
            draw(st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), min_size=1, max_size=8)),
        )
    elif kind == "nest":
        style = draw(st.sampled_from(["[", "{a: ", "- ", "indent"]))
        args = (pos, style, draw(st.sampled_from([10, 65, 200, 5_000, 40_000])))
    elif kind == "token":
        args = (
            pos,
            draw(st.sampled_from(LONG_RUNS)),
            draw(st.sampled_from([100, 10_000, 300_000])),
        )
    elif kind == "unicode":
        args = (pos, draw(st.lists(st.sampled_from(ODD), min_size=1, max_size=4)))
    elif kind == "bytes":
        args = (pos, draw(st.sampled_from(RAW_BYTES)))
    elif kind == "link":
        args = (draw(st.sampled_from(["file", "dir", "dangling", "inside"])),)
    else:
        args = (pos,)
    return file, kind, args


def _apply(root: Path, outside: Path, file: str, kind: str, args: tuple[object, ...]) -> None:
    path = root / file
    if not path.is_file() or path.is_symlink():
        return  # an earlier mutation replaced it
    raw = path.read_bytes()
    at = int(float(args[0]) * len(raw)) if args and isinstance(args[0], float) else 0
    if kind == "flip":
        data = bytearray(raw)
        for where, xor in args[1]:  # type: ignore[attr-defined]
            if data:
                data[min(int(where * len(data)), len(data) - 1)] ^= xor
        path.write_bytes(bytes(data))
    elif kind == "truncate":
        path.write_bytes(raw[:at])
    elif kind == "nest":
        _, style, depth = args
        assert isinstance(style, str) and isinstance(depth, int)
        if style == "indent":
            depth = min(depth, 2_000)  # indentation is quadratic in bytes
            text = "".join(" " * i + f"k{i}:\n" for i in range(depth))
        elif style == "- ":
            text = "- " * depth + "x\n"
        else:
            text = style * depth + "x" + ("]" if style == "[" else "}") * depth
        path.write_bytes(raw[:at] + text.encode() + raw[at:])
    elif kind == "token":
        _, run, size = args
        assert isinstance(run, str) and isinstance(size, int)
        path.write_bytes(raw[:at] + (run * (size // len(run))).encode() + raw[at:])
    elif kind == "unicode":
        path.write_bytes(raw[:at] + "".join(args[1]).encode() + raw[at:])  # type: ignore[arg-type]
    elif kind == "bytes":
        path.write_bytes(raw[:at] + args[1] + raw[at:])  # type: ignore[operator]
    elif kind == "link":
        path.unlink()
        target = {
            "file": outside / "secret.yaml",
            "dir": outside,
            "dangling": outside / "missing.yaml",
            "inside": path.parent / "elsewhere.yaml",
        }[str(args[0])]
        path.symlink_to(target)
    elif kind == "loop":
        path.unlink()
        path.symlink_to(path.name)
    elif kind == "dir":
        path.unlink()
        path.mkdir()
        (path / "inner.yaml").write_bytes(raw)


def _check(mutations: list[tuple[str, str, tuple[object, ...]]], fmt: str, cached: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        outside = base / "outside"
        outside.mkdir()
        (outside / "secret.yaml").write_text("root:$6$NOT-FOR-YOUR-EYES:19000::::::\n")
        root = base / "bundle"
        for name, src in BUNDLES.items():
            shutil.copytree(src, root / name)
        for file, kind, args in mutations:
            _apply(root, outside, file, kind, args)
        env = {"NO_COLOR": "1", "FOCAL_CACHE_DIR": str(base / "cache")}
        argv = ["validate", "-f", fmt, str(root / "retail"), str(root / "agents")]
        runs = 2 if cached else 1  # cold, then warm from the cache
        for _ in range(runs):
            start = time.perf_counter()
            result = CliRunner().invoke(app, argv if cached else [*argv, "--no-cache"], env=env)
            elapsed = time.perf_counter() - start
            described = f"{mutations} -f {fmt}: exit {result.exit_code}"
            assert result.exception is None or isinstance(result.exception, SystemExit), (
                f"{described}: {result.exception!r}"
            )
            assert result.exit_code in (0, 1), described
            assert "Traceback" not in result.output, described
            assert "NOT-FOR-YOUR-EYES" not in result.output, described
            assert elapsed < SECONDS_PER_EXAMPLE, f"{described}: {elapsed:.1f} s"


FORMATS = st.sampled_from(["text", "json", "sarif", "junit", "github"])
MUTATIONS = st.lists(mutation(), min_size=1, max_size=3)


def _fuzz(examples: int) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=examples == DEFAULT_EXAMPLES,  # the default run is reproducible
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(MUTATIONS, FORMATS, st.booleans())
    def run(mutations: list[tuple[str, str, tuple[object, ...]]], fmt: str, cached: bool) -> None:
        _check(mutations, fmt, cached)

    run()


def test_validate_never_crashes_on_mutated_bundles() -> None:
    _fuzz(DEFAULT_EXAMPLES)


@pytest.mark.slow
@pytest.mark.skipif(
    "FOCAL_FUZZ_EXAMPLES" not in os.environ, reason="set FOCAL_FUZZ_EXAMPLES for a long run"
)
def test_validate_never_crashes_on_mutated_bundles_long_run() -> None:
    _fuzz(int(os.environ["FOCAL_FUZZ_EXAMPLES"]))
