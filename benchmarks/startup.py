"""Benchmark: how long `focalctl` takes to start, as whole processes, beside `import typer, rich`.

Targets (authoring issue, on the 2-core reference machine): `focalctl --help` ≤ 0.25 s and
`focalctl validate agents.d` ≤ 0.4 s. The baseline is a bare interpreter importing the CLI
toolkit (`python -c "import typer, rich"`), which no command can beat; each figure is printed
with its ratio to it. Figures are the median of --runs processes after one unmeasured warm-up
(so the file cache is warm), started from the repository root with NO_COLOR=1 and stdout
discarded. Which modules each command loads is pinned by tests/cli/test_startup.py; this
script only measures.

    python benchmarks/startup.py [--runs 15] [--focalctl PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from shell import user_env

REPO = Path(__file__).resolve().parent.parent


def run_times(argv: list[str], runs: int) -> list[float]:
    env = user_env()
    times = []
    for i in range(runs + 1):
        start = time.perf_counter()
        proc = subprocess.run(
            argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr.decode()}")
        if i:  # the first run only warms the file cache
            times.append(elapsed)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="measured runs per command")
    parser.add_argument(
        "--focalctl",
        default=str(Path(sys.executable).with_name("focalctl")),
        help="the console script to time (default: the one beside this interpreter)",
    )
    args = parser.parse_args()
    if not Path(args.focalctl).exists():
        sys.exit(f"no focalctl at {args.focalctl}; install the project or pass --focalctl PATH")
    cases: list[tuple[str, list[str], float | None]] = [
        ('python -c "import typer, rich"', [sys.executable, "-c", "import typer, rich"], None),
        ("focalctl --help", [args.focalctl, "--help"], 0.25),
        ("focalctl --version", [args.focalctl, "--version"], None),
        (
            "focalctl validate agents.d --no-cache",
            [args.focalctl, "validate", "agents.d", "--no-cache"],
            0.4,
        ),
    ]
    print(f"median of {args.runs} runs, whole process, {os.cpu_count()} CPUs")
    print(f"{'command':<40} {'median s':>9} {'min s':>7} {'× base':>7} {'target s':>9}")
    baseline = 0.0
    for name, argv, target in cases:
        times = run_times(argv, args.runs)
        median = statistics.median(times)
        baseline = baseline or median
        verdict = (
            "" if target is None else f"≤ {target:.2f} " + ("ok" if median <= target else "MISSED")
        )
        print(
            f"{name:<40} {median:>9.3f} {min(times):>7.3f} {median / baseline:>7.2f} {verdict:>9}"
        )


if __name__ == "__main__":
    main()
