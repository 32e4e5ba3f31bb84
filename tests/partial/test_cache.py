"""The partial-parse cache: what is reused, what is recomputed, and how a bad cache is ignored."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from focalctl.bundle import Bundle, Fact
from focalctl.compile import compile_paths
from focalctl.partial import PartialCache
from focalctl.partial import cache as cache_file
from focalctl.partial.memo import Memo, StageState
from tests.conftest import REPO

from .test_equivalence import outcome


@pytest.fixture
def retail(tmp_path: Path) -> Iterator[Path]:
    # the bundle without its Simulation files: the counts below are of what it compiles
    shutil.copytree(
        REPO / "examples" / "retail",
        tmp_path / "retail",
        ignore=shutil.ignore_patterns("simulations"),
    )
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield Path("retail")
    finally:
        os.chdir(cwd)


def _run(root: Path, cache_dir: Path = Path("cache")) -> tuple[PartialCache, object]:
    cache = PartialCache.open([root], cache_dir)
    result = compile_paths([root], cache)
    cache.save()
    return cache, outcome(result)


def test_an_unchanged_bundle_is_restored_whole(retail: Path) -> None:
    first, cold = _run(retail)
    assert first.stats().files_parsed == 10 and first.stats().computed == {
        "checks": 28,
        "compile": 28,
    }
    again, warm = _run(retail)
    stats = again.stats()
    assert (stats.status, stats.files_restored, stats.files_parsed) == ("used", 10, 0)
    assert stats.computed == {"checks": 0, "compile": 0}
    assert warm == cold


def test_an_edit_recomputes_its_file_and_the_objects_that_read_it(retail: Path) -> None:
    _run(retail)
    tools = retail / "tools" / "orders.yaml"
    tools.write_text(tools.read_text().replace("effect: pure", "effect: idempotent", 1))
    cache, warm = _run(retail)
    stats = cache.stats()
    assert (stats.files_restored, stats.files_parsed) == (9, 1)
    # the file's five tools and the two scenarios that bind lookup-order; the agent that grants
    # it only reads whether the name is declared, which did not change
    assert stats.computed["checks"] == 7
    assert stats.computed["compile"] == 5  # scenarios embed their steps, not the tools
    assert warm == outcome(compile_paths([retail]))


def test_an_edit_in_one_file_reports_in_the_files_that_depend_on_it(retail: Path) -> None:
    _, before = _run(retail)
    assert not before[0]  # type: ignore[index]
    tools = retail / "tools" / "orders.yaml"
    tools.write_text(tools.read_text().replace("effect: pure", "effect: irreversible", 1))
    cache, warm = _run(retail)
    assert cache.stats().computed["checks"] == 7 and "compile" not in cache.stats().computed
    found = {(d.code, d.file) for d in warm[0]}  # type: ignore[index]
    assert ("FOC508", "retail/scenarios/refunds.yaml") in found
    assert ("FOC508", "retail/scenarios/order-status.yaml") in found
    assert warm == outcome(compile_paths([retail]))


def test_moving_lines_moves_the_reported_positions(retail: Path) -> None:
    tools = retail / "tools" / "orders.yaml"
    tools.write_text(tools.read_text().replace("effect: pure", "effect: irreversible", 1))
    _, before = _run(retail)
    scenario = retail / "scenarios" / "refunds.yaml"
    scenario.write_text("# a comment\n# and another\n" + scenario.read_text())
    cache, after = _run(retail)
    assert cache.stats().files_parsed == 1
    lines = [d.line for d in after[0] if d.code == "FOC508" and "refunds" in (d.file or "")]  # type: ignore[index]
    old = [d.line for d in before[0] if d.code == "FOC508" and "refunds" in (d.file or "")]  # type: ignore[index]
    assert lines == [n + 2 for n in old]
    assert after == outcome(compile_paths([retail]))


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda b: b[:-100], "damaged (its content does not match its digest)"),
        (lambda b: b[:-1] + bytes([b[-1] ^ 1]), "damaged (its content does not match its digest)"),
        (lambda b: b"garbage", "not a cache file of this format"),
        (lambda b: b"", "not a cache file of this format"),
        (
            lambda b: b.replace(cache_file.code_fingerprint().encode(), b"0" * 64, 1),
            "made by another version of Focal",
        ),
    ],
    ids=["truncated", "bit-flip", "garbage", "empty", "other-version"],
)
def test_a_bad_cache_is_ignored_and_replaced(retail: Path, damage: object, reason: str) -> None:
    _run(retail)
    (path,) = Path("cache").iterdir()
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    tools = retail / "tools" / "orders.yaml"
    tools.write_text(tools.read_text().replace("effect: pure", "effect: idempotent", 1))
    cache, warm = _run(retail)
    assert cache.status == reason and cache.stats().files_parsed == 10
    assert warm == outcome(compile_paths([retail]))
    assert _run(retail)[0].status == "used"  # rewritten whole


def test_the_fingerprint_covers_every_source_file(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "sub" / "b.py").write_text("y = 2\n")
    before = cache_file.source_fingerprint([pkg])
    (pkg / "sub" / "b.py").write_text("y = 3\n")
    assert cache_file.source_fingerprint([pkg]) != before
    (pkg / "sub" / "b.py").write_text("y = 2\n")
    assert cache_file.source_fingerprint([pkg]) == before
    (pkg / "c.py").write_text("")
    assert cache_file.source_fingerprint([pkg]) != before


def test_a_cache_that_cannot_be_written_raises_oserror(retail: Path) -> None:
    Path("blocked").write_text("a file where the cache directory would be")
    cache = PartialCache.open([retail], Path("blocked"))
    compile_paths([retail], cache)
    with pytest.raises(OSError):
        cache.save()


def test_the_fact_table_is_compacted_when_mostly_dead(retail: Path) -> None:
    """Facts whose fingerprint changed stay in the table until it is mostly dead weight."""
    from focalctl.bundle.loader import discover

    def bundle() -> Bundle:
        files, _ = discover([retail])
        return Bundle(PartialCache.off().load(f, n) for f, n in files)

    memo = Memo[object](bundle())
    memo.run(("u", 0), "fp", lambda view: view.get("acme", "ToolEffect", "lookup-order") and 1)
    table, records = memo.state()
    stale = [((Fact.OBJECT, "acme", "ToolEffect", f"gone-{i}"), "old") for i in range(3000)]
    again = Memo(
        bundle(),
        StageState(
            stale + table,
            {u: r._replace(facts=tuple(i + 3000 for i in r.facts)) for u, r in records.items()},
        ),
    )
    assert again.run(("u", 0), "fp", lambda view: 2) == 1  # reused: its fact did not change
    table2, records2 = again.state()
    assert len(table2) == 1 and records2[("u", 0)].facts == (0,)


def test_a_file_record_is_reused_only_with_the_same_document_checks(retail: Path) -> None:
    from focalctl.bundle.loader import discover
    from focalctl.checks import DOCUMENT_CHECKS

    files, _ = discover([retail])
    plain = PartialCache.open([retail], Path("cache"))
    for f, name in files:
        plain.load(f, name)
    plain.save()
    checked = PartialCache.open([retail], Path("cache"))
    for f, name in files:
        checked.load(f, name, DOCUMENT_CHECKS)
    assert (checked.stats().files_restored, checked.stats().files_parsed) == (0, 10)
