"""Benchmark: `validate` wall time against a bare libyaml parse of the same files.

Targets (issue 3): validate ≤ 3× the bare parse at 1,000 objects; 10,000 objects ≤ 11× the
1,000-object time. The baseline is ruamel.yaml's libyaml-backed safe loader (``YAML(typ="safe",
pure=False).load_all``), the parser Focal itself uses; PyYAML's ``CSafeLoader`` is printed too.
Figures are the best of several runs (in-process, warm imports).

    python benchmarks/validate.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml
from ruamel.yaml import YAML
from synth import write_bundle

from focalctl.validate import validate_paths


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bare_ruamel(files: list[Path]) -> None:
    y = YAML(typ="safe", pure=False)
    for f in files:
        list(y.load_all(f.read_bytes()))


def bare_pyyaml(files: list[Path]) -> None:
    for f in files:
        list(yaml.load_all(f.read_bytes(), Loader=yaml.CSafeLoader))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results: dict[int, float] = {}
    print(
        f"{'objects':>8} {'validate s':>11} {'ruamel-C s':>11} {'ratio':>6} {'target':>7} {'pyyaml-C s':>11} {'ratio':>6}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1000, 10000):
            root = write_bundle(Path(tmp) / str(n), n)
            files = sorted(root.rglob("*.yaml"))
            result = validate_paths([root])
            assert not result.errors, result.errors[:3]
            v = best(lambda r=root: validate_paths([r]), args.repeat)
            b = best(lambda fs=files: bare_ruamel(fs), args.repeat)
            p = best(lambda fs=files: bare_pyyaml(fs), args.repeat)
            results[n] = v
            print(
                f"{len(result.bundle.refs):>8} {v:>11.3f} {b:>11.3f} {v / b:>6.2f} {'≤ 3.00':>7} {p:>11.3f} {v / p:>6.2f}"
            )
    scale = results[10000] / results[1000]
    print(f"\n10,000 / 1,000 objects: {scale:.2f}× (target ≤ 11×, linear = 10×)")


if __name__ == "__main__":
    main()
