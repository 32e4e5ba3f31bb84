"""The same bundle gives byte-identical snapshots whatever its files, order and YAML style."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from focalctl.compile import compile_paths
from tests.conftest import REPO

EXAMPLE = REPO / "examples" / "retail"


def _documents() -> list[Any]:
    yaml = YAML(typ="safe", pure=True)
    docs: list[Any] = []
    for path in sorted(EXAMPLE.rglob("*.yaml")):
        docs.extend(d for d in yaml.load_all(path.read_text()) if d is not None)
    return docs


DOCS = _documents()
REFERENCE = compile_paths([EXAMPLE]).snapshots["acme"]


def _shuffle_keys(value: Any, rnd: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rnd.shuffle(items)
        return {k: _shuffle_keys(v, rnd) for k, v in items}
    if isinstance(value, list):
        return [_shuffle_keys(v, rnd) for v in value]  # list order is meaning: keep it
    return value


def _dump(doc: Any, rnd: random.Random) -> str:
    """One document in a random YAML style, emitted by libyaml itself (PyYAML's CSafeDumper)."""
    text = yaml.dump(
        doc,
        Dumper=yaml.CSafeDumper,
        sort_keys=False,
        default_flow_style=rnd.choice([False, None, True]),
        default_style=rnd.choice([None, '"', "'"]),
        indent=rnd.choice([2, 4]),
        width=rnd.choice([40, 80, 100_000]),
        allow_unicode=True,
    )
    if rnd.random() < 0.5:
        text = "# a comment that means nothing\n" + text
    return text


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1), files=st.integers(min_value=1, max_value=6)
)
def test_any_files_order_keys_and_style_give_the_same_id(
    tmp_path_factory: Any, seed: int, files: int
) -> None:
    rnd = random.Random(seed)
    root = tmp_path_factory.mktemp("bundle")
    docs = [_shuffle_keys(d, rnd) for d in DOCS]
    rnd.shuffle(docs)
    buckets: list[list[str]] = [[] for _ in range(files)]
    for doc in docs:
        buckets[rnd.randrange(files)].append(_dump(doc, rnd))
    for i, bucket in enumerate(buckets):
        if bucket:
            sub = root / rnd.choice(["", "a", "b/c"])
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"f{i}.{rnd.choice(['yaml', 'yml'])}").write_text("---\n".join(bucket))
    result = compile_paths([root])
    assert result.ok, [d.message for d in result.diagnostics][:3]
    assert result.snapshots["acme"].id == REFERENCE.id
    assert result.snapshots["acme"].raw == REFERENCE.raw


def test_anchors_and_aliases_resolve_to_the_same_snapshot(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "b")
    scen = tmp_path / "b" / "scenarios" / "refunds.yaml"
    text = scen.read_text().replace(
        "  settings:\n    llm: {temperature: 0.1}\n    turn: {cancelInFlight: never}\n",
        "  settings: &s\n    llm: {temperature: 0.1}\n    turn: {cancelInFlight: never}\n",
    )
    assert "&s" in text
    scen.write_text(text)
    assert compile_paths([tmp_path / "b"]).snapshots["acme"].id == REFERENCE.id


def test_a_semantic_change_changes_the_id(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "b")
    agent = tmp_path / "b" / "agents" / "support.yaml"
    agent.write_text(agent.read_text().replace("temperature: 0.2", "temperature: 0.25"))
    assert compile_paths([tmp_path / "b"]).snapshots["acme"].id != REFERENCE.id


def test_two_processes_with_different_hash_seeds_and_cwd_agree(tmp_path: Path) -> None:
    script = (
        "import sys; from focalctl.compile import compile_paths; "
        "s = compile_paths([sys.argv[1]]).snapshots['acme']; sys.stdout.buffer.write(s.raw)"
    )
    outputs = []
    for seed, cwd in (("1", tmp_path), ("4242", REPO)):
        proc = subprocess.run(
            [sys.executable, "-c", script, str(EXAMPLE)],
            cwd=cwd,
            capture_output=True,
            timeout=60,
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)},
        )
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1] == REFERENCE.raw


def test_snapshots_assembled_from_fragments_are_the_canonical_bytes_of_their_body() -> None:
    """RFC 8785 is compositional: the bytes spliced from per-object fragments equal the
    canonical serialisation of the whole body."""
    from runtime.snapshot import canonical_bytes

    for bundle in (EXAMPLE, REPO / "examples" / "clinic", REPO / "agents.d"):
        result = compile_paths([bundle])
        assert result.ok, (bundle, [d.message for d in result.diagnostics][:3])
        assert result.snapshots, f"{bundle} compiled to no snapshot"
        for snap in result.snapshots.values():
            assert canonical_bytes(snap.body) == snap.raw
