"""Benchmark: compile and snapshot-load figures (issue 4), printed beside their targets.

- compile time beyond parsing (validate → snapshot bytes) at 1,000 and 10,000 objects;
  target ≤ 0.5 s at 1,000 and ≤ 11× that at 10,000.
- runtime load + digest verify per 1,000 objects (target ≤ 10 ms), snapshot bytes per 1,000
  objects, and resident memory of a loaded snapshot per 1,000 objects.

    python benchmarks/compile.py
"""

from __future__ import annotations

import gc
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import write_bundle

from focalctl.bulk import bulk_allocation
from focalctl.compile import compile_bundle
from focalctl.validate import validate_paths
from runtime.snapshot import load_snapshot


def main() -> None:
    compile_times: dict[int, float] = {}
    print(
        f"{'objects':>8} {'validate s':>11} {'compile s':>10} {'target':>8} {'load ms/1k':>11} {'target':>7} {'KiB/1k':>7} {'model MiB/1k':>13}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1000, 10000):
            root = write_bundle(Path(tmp) / str(n), n)
            start = time.perf_counter()
            result = validate_paths([root])
            validated = time.perf_counter() - start
            assert not result.errors
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                with bulk_allocation():
                    snaps = compile_bundle(result.bundle)
                best = min(best, time.perf_counter() - start)
            compile_times[n] = best
            snap = next(iter(snaps.values()))
            per_k = snap.object_count / 1000
            loads = []
            for _ in range(5):
                start = time.perf_counter()
                load_snapshot(snap.raw, snap.id)
                loads.append(time.perf_counter() - start)
            gc.collect()
            tracemalloc.start()
            loaded = load_snapshot(snap.raw, snap.id)
            current, _ = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            del loaded
            target = "≤ 0.50" if n == 1000 else f"≤ {compile_times[1000] * 11:.2f}"
            print(
                f"{snap.object_count:>8} {validated:>11.3f} {best:>10.3f} {target:>8} {min(loads) * 1000 / per_k:>11.2f} {'≤ 10':>7} "
                f"{len(snap.raw) / 1024 / per_k:>7.1f} {current / 2**20 / per_k:>13.2f}"
            )
    print(
        f"\ncompile 10,000 / 1,000 objects: {compile_times[10000] / compile_times[1000]:.2f}× (target ≤ 11×)"
    )
    print(f"process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print("warm plan (partial parsing cache): not implemented yet, see CHANGELOG")


if __name__ == "__main__":
    main()
