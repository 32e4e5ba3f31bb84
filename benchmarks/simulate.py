"""Benchmark: `focalctl simulate` and `plan --simulate` (issue 14), as whole processes.

- 100 simulations × 20 turns on the retail example (each a refund conversation of three
  messages, a burst, a redelivery, order-status questions and a 24 h wait that fires the
  follow-up; the simulated clock makes the wait cost nothing): wall time of `focalctl
  simulate`, target ≤ 5 s on this machine, beside `focalctl validate` of the same bundle (the
  floor: simulate validates and compiles first).
- `plan --simulate` on the retail example against an applied store: its extra time over
  `plan`.

    python benchmarks/simulate.py [--sims 100] [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shell import user_env

REPO = Path(__file__).resolve().parent.parent

SIM = """apiVersion: focal/v1
kind: Simulation
metadata: {{name: bench-{n}, tenant: acme}}
spec:
  agent: support
  channel: wa-main
  start: "2026-03-02T10:00:00+01:00"
  profile: {{first_name: Ana, consent: true}}
  stubs:
    - {{tool: lookup-order, result: {{status: delivered, total: 42.0}}}}
    - {{tool: issue-refund, result: {{refund_id: R-{n}}}}}
  script:
    - {{user: "refund O-{n}", intent: refund, slots: {{order_id: O-{n}}}}}
    - {{user: "hmm?"}}
    - user: "yes"
      intent: confirm
      expect: {{tool_called: {{tool: issue-refund}}}}
    - {{redeliver: previous, expect: {{status: duplicate}}}}
    - {{burst: ["thanks", "bye"]}}
{extra}    - wait: 25h
      expect: {{scheduled: {{goal: refund-feedback, state: fired}}}}
"""
EXTRA = """    - {{user: "where is order O-{n}{k}?", intent: order_status, slots: {{order_id: O-{n}{k}}}}}
"""


def bundle(root: Path, sims: int) -> Path:
    out = root / "retail"
    shutil.copytree(REPO / "examples" / "retail", out, ignore=shutil.ignore_patterns("simulations"))
    (out / "simulations").mkdir()
    for n in range(sims):
        # 3 + 1 + 2 + 13 user turns + the redelivery = 20 messages
        extra = "".join(EXTRA.format(n=n, k=k) for k in range(13))
        (out / "simulations" / f"bench-{n}.yaml").write_text(SIM.format(n=n, extra=extra))
    return out


def wall(argv: list[str], cwd: Path, runs: int) -> float:
    env = user_env(PYTHONPATH=str(REPO))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode not in (0, 2):
            raise SystemExit(
                f"{' '.join(argv)} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
            )
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sims", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cli = [sys.executable, "-m", "focalctl.cli.main"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        retail = bundle(root, args.sims)
        floor = wall([*cli, "validate", str(retail), "--no-cache"], root, args.runs)
        took = wall([*cli, "simulate", str(retail)], root, args.runs)
        print(
            f"simulate, {args.sims} simulations x 20 messages (retail): {took:.2f} s wall "
            f"(target ≤ 5 s); validate of the same bundle {floor:.2f} s "
            f"(simulate = {took / floor:.1f}× validate)"
        )
        example = root / "example"
        shutil.copytree(REPO / "examples" / "retail", example)
        store = f"sqlite:///{root}/store.db"
        wall([*cli, "apply", str(example), "--auto-approve", "--store", store], root, 1)
        plan = wall([*cli, "plan", str(example), "--store", store, "--no-cache"], root, args.runs)
        plan_sim = wall(
            [*cli, "plan", str(example), "--store", store, "--no-cache", "--simulate"],
            root,
            args.runs,
        )
        print(
            f"plan --simulate on examples/retail (17 simulations, run twice each): "
            f"{plan_sim:.2f} s vs plan {plan:.2f} s: +{plan_sim - plan:.2f} s"
        )


if __name__ == "__main__":
    main()
