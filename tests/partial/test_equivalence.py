"""A stale cache can never change the result: after any sequence of edits, a run that reuses the
previous run's cache gives exactly what a run without a cache gives.

The edits are random and deliberately nasty for dependency tracking: values replaced by names of
other objects (references appear, break and move across files), objects renamed, deleted,
duplicated into files that sort earlier, moved between files, files broken and repaired, and
lines inserted above documents so that positions move while data does not.
"""

from __future__ import annotations

import copy
import os
import random
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from focalctl.compile import CompileResult, compile_paths
from focalctl.partial import PartialCache
from tests.conftest import REPO

EXTRA = """\
apiVersion: focal/v1
kind: Step
metadata: {name: refunds-escalate, tenant: acme}
spec:
  scenario: refunds
  id: escalate
  say: "Let me get a colleague, {{ profile.first_name }}."
  tools: [{tool: lookup-order, args: {order_id: "{{ slots.order_id }}"}}]
  transitions: [{to: wrap_up}]
---
apiVersion: focal/v1
kind: Step
metadata: {name: refunds-audit, tenant: acme}
spec: {scenario: refunds, id: audit, terminal: true, settings: {llm: {temperature: 0.2}}}
---
apiVersion: focal/v1
kind: Tenant
metadata: {name: globex}
spec: {channels: [sms]}
---
apiVersion: focal/v1
kind: Agent
metadata: {name: support, tenant: globex}
spec: {channels: [sms-main], tools: [lookup-order], scenarios: [refunds]}
"""
BUNDLES = ["retail+", "retail", "clinic", "agents.d"]

Files = dict[str, dict[str, Any]]  # file name → {"docs": [...], "pad": int, "broken": bool}


def outcome(result: CompileResult) -> tuple[Any, ...]:
    """Everything a run produces: every diagnostic field and every snapshot artefact."""
    return (
        result.diagnostics,
        {
            tenant: (s.raw, s.id, s.provenance, s.sources, s.source_digest, s.object_count)
            for tenant, s in result.snapshots.items()
        },
    )


def read_bundle(name: str) -> Files:
    """An example bundle; ``retail+`` adds standalone steps (whose diagnostics the scenario
    reports into their file) and a second tenant that reaches into the first."""
    root = REPO / ("agents.d" if name == "agents.d" else f"examples/{name.rstrip('+')}")
    files = _read(root)
    if name.endswith("+"):
        files["steps/extra.yaml"] = {
            "docs": list(yaml.safe_load_all(EXTRA)),
            "pad": 0,
            "broken": False,
        }
    return files


def _read(root: Path) -> Files:
    files: Files = {}
    for path in sorted(root.rglob("*.yaml")):
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        files[path.relative_to(root).as_posix()] = {"docs": docs, "pad": 0, "broken": False}
    return files


def write_bundle(root: Path, files: Files) -> None:
    if root.exists():
        shutil.rmtree(root)
    for name, f in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "# padding\n" * f["pad"] + yaml.safe_dump_all(f["docs"], sort_keys=False)
        if f["broken"]:
            text += "broken: [unclosed\n"
        path.write_text(text)


def _names(files: Files) -> list[str]:
    out: set[str] = set()
    for f in files.values():
        for d in f["docs"]:
            meta = d.get("metadata") if isinstance(d, dict) else None
            if isinstance(meta, dict):
                out.update(str(v) for k, v in meta.items() if k in ("name", "tenant"))
            for step in (d.get("spec") or {}).get("steps", []) if isinstance(d, dict) else []:
                if isinstance(step, dict) and "id" in step:
                    out.add(str(step["id"]))
    return sorted(out)


def _scalars(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _scalars(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _scalars(v, (*path, i))
    else:
        yield path


def _set(node: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _pick_doc(files: Files, rng: random.Random) -> tuple[str, int] | None:
    choices = [(n, i) for n, f in sorted(files.items()) for i in range(len(f["docs"]))]
    return rng.choice(choices) if choices else None


def _values_by_key(node: Any, key: str, out: dict[str, list[Any]]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            _values_by_key(v, str(k), out)
    elif isinstance(node, list):
        for v in node:
            _values_by_key(v, key, out)
    else:
        out.setdefault(key, []).append(node)


def mutate_value(files: Files, rng: random.Random) -> None:
    """Replace a value in some spec, mostly by a value that the same key has elsewhere in the
    bundle (another tool name, another effect, another step id...), so the document usually
    stays valid and the change reaches the objects that refer to it."""
    picked = _pick_doc(files, rng)
    if picked is None:
        return
    doc = files[picked[0]]["docs"][picked[1]]
    paths = [p for p in _scalars(doc.get("spec", {})) if p]
    if not paths:
        return
    path = rng.choice(paths)
    key = next((str(p) for p in reversed(path) if isinstance(p, str)), "")
    seen: dict[str, list[Any]] = {}
    for f in files.values():
        for d in f["docs"]:
            _values_by_key(d, "", seen)
    pool = seen.get(key, []) if rng.random() < 0.8 else [*_names(files), 0, 3, "5s", True]
    if pool:
        _set(doc["spec"], path, rng.choice(pool))


def drop_item(files: Files, rng: random.Random) -> None:
    """Remove one element of a list in some spec (a granted tool, a step, a fallback...)."""
    picked = _pick_doc(files, rng)
    if picked is None:
        return
    doc = files[picked[0]]["docs"][picked[1]]
    lists: list[list[Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            if node:
                lists.append(node)
            for v in node:
                walk(v)

    walk(doc.get("spec", {}))
    if lists:
        target = rng.choice(lists)
        del target[rng.randrange(len(target))]


def rename(files: Files, rng: random.Random) -> None:
    picked = _pick_doc(files, rng)
    if picked is not None:
        doc = files[picked[0]]["docs"][picked[1]]
        doc["metadata"]["name"] = rng.choice([*_names(files), f"{doc['metadata']['name']}-x"])


def delete_doc(files: Files, rng: random.Random) -> None:
    picked = _pick_doc(files, rng)
    if picked is not None:
        del files[picked[0]]["docs"][picked[1]]


def duplicate_doc(files: Files, rng: random.Random) -> None:
    picked = _pick_doc(files, rng)
    if picked is not None:
        target = rng.choice(["0-first.yaml", "zz-last.yaml", *sorted(files)])
        doc = copy.deepcopy(files[picked[0]]["docs"][picked[1]])
        files.setdefault(target, {"docs": [], "pad": 0, "broken": False})["docs"].append(doc)


def move_doc(files: Files, rng: random.Random) -> None:
    picked = _pick_doc(files, rng)
    if picked is not None:
        doc = files[picked[0]]["docs"].pop(picked[1])
        target = rng.choice([*sorted(files), "moved/here.yaml"])
        files.setdefault(target, {"docs": [], "pad": 0, "broken": False})["docs"].insert(0, doc)


def rekind(files: Files, rng: random.Random) -> None:
    """Change a document's kind: to an unknown one close to a known kind (``Tool``, which
    declares ``ToolEffect``), close to none (``Widget``, which declares its name for every
    kind), or back to a real one."""
    picked = _pick_doc(files, rng)
    if picked is not None:
        doc = files[picked[0]]["docs"][picked[1]]
        doc["kind"] = rng.choice(["Widget", "Tool", "Scenaro", "ToolEffect", "ChannelProfile"])


def pad(files: Files, rng: random.Random) -> None:
    if files:
        files[rng.choice(sorted(files))]["pad"] += rng.randint(1, 3)


def toggle_broken(files: Files, rng: random.Random) -> None:
    if files:
        f = files[rng.choice(sorted(files))]
        f["broken"] = not f["broken"]


def delete_file(files: Files, rng: random.Random) -> None:
    if files:
        del files[rng.choice(sorted(files))]


EDITS: list[Callable[[Files, random.Random], None]] = [
    mutate_value,
    mutate_value,
    mutate_value,
    mutate_value,
    drop_item,
    drop_item,
    rename,
    delete_doc,
    duplicate_doc,
    move_doc,
    rekind,
    pad,
    toggle_broken,
    delete_file,
]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    try:
        yield
    finally:
        os.chdir(cwd)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    bundle=st.sampled_from(BUNDLES),
    edits=st.lists(st.sampled_from(EDITS), min_size=1, max_size=6),
    rng=st.randoms(use_true_random=False),
)
def test_after_any_edits_the_cached_run_equals_a_cold_run(
    bundle: str, edits: list[Callable[[Files, random.Random], None]], rng: random.Random
) -> None:
    root, cache_dir = Path("bundle"), Path("cache")
    shutil.rmtree(cache_dir, ignore_errors=True)
    files = read_bundle(bundle)
    write_bundle(root, files)
    cache = PartialCache.open([root], cache_dir)
    compile_paths([root], cache)
    cache.save()
    for edit in edits:
        edit(files, rng)
        write_bundle(root, files)
        cache = PartialCache.open([root], cache_dir)  # a new process reading the last run's
        warm = compile_paths([root], cache)
        cache.save()
        cold = compile_paths([root], PartialCache.off())
        assert cache.status == "used"
        assert outcome(warm) == outcome(cold), f"after {edit.__name__}"
