"""Benchmark: `validate` wall time against a bare libyaml parse of the same files.

Targets (issue 3): validate ≤ 3× the bare parse at 1,000 objects; 10,000 objects ≤ 11× the
1,000-object time. The baseline is ruamel.yaml's libyaml-backed safe loader (``YAML(typ="safe",
pure=False).load_all``), the parser Focal itself uses; PyYAML's ``CSafeLoader`` is printed too.
Figures are the best of several runs (in-process, warm imports).

Then, as issue 15 asks, whole processes in the same run: cold ``focalctl validate --no-cache``
against the libyaml floor, ``../shared/bench/libyaml_floor.py`` (PyYAML's CSafeLoader
``load_all`` over the same files, nothing else; ``FOCAL_LIBYAML_FLOOR`` points elsewhere), with
the peak memory (max RSS) of the validate process. Target: ≤ 3× the floor at 10,000 objects,
peak ≤ 300 MiB.

    python benchmarks/validate.py [--repeat 3] [--whole-only]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml
from ruamel.yaml import YAML
from shell import user_env
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


REPO = Path(__file__).resolve().parent.parent
FLOOR = Path(os.environ.get("FOCAL_LIBYAML_FLOOR", REPO.parent / "shared/bench/libyaml_floor.py"))


def process(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one whole process (started from a small process:
    the peak of a forked child counts its parent's memory until it execs)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=user_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {err[-500:]}")
    return wall, usage.ru_maxrss / 1024


def whole_process(repeat: int) -> None:
    if not FLOOR.is_file():
        print(f"\nwhole process: skipped, no libyaml floor at {FLOOR} (set FOCAL_LIBYAML_FLOOR)")
        return
    focalctl = [sys.executable, "-m", "focalctl.cli.main"]
    print(
        "\nwhole process, cold (validate --no-cache) vs the libyaml floor "
        f"({FLOOR.name}), best of {repeat}:"
    )
    print(
        f"{'objects':>8} {'validate s':>11} {'floor s':>8} {'ratio':>6} {'target':>7} {'peak MiB':>9}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1000, 10000):
            root = write_bundle(Path(tmp) / str(n), n)
            runs, floors = [], []
            for _ in range(repeat):  # alternate, so both see the same machine
                runs.append(process([*focalctl, "validate", str(root), "--no-cache"]))
                floors.append(process([sys.executable, str(FLOOR), str(root)]))
            v, peak = min(r[0] for r in runs), max(r[1] for r in runs)
            f = min(r[0] for r in floors)
            print(f"{n:>8} {v:>11.2f} {f:>8.2f} {v / f:>6.2f} {'≤ 3.00':>7} {peak:>9.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--whole-only", action="store_true", help="Only the whole-process runs.")
    args = parser.parse_args()
    if args.whole_only:
        whole_process(args.repeat)
        return
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
    print(f"\n10,000 / 1,000 objects: {scale:.2f}× (target ≤ 11×, linear = 10×)", flush=True)
    # In a fresh process: a forked child's peak RSS starts at its parent's, and this one now
    # holds a 10,000-object bundle (it reported 1.3 GiB for every validate run).
    again = [sys.executable, __file__, "--whole-only", "--repeat", str(args.repeat)]
    subprocess.run(again, check=True)


if __name__ == "__main__":
    main()
