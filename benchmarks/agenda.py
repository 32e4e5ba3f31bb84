"""Benchmark: the agenda's claims across processes.

N due actions (default 100,000, over 4 tenants and 100 conversations each) are scheduled on
PostgreSQL and on Redis (a schema / key prefix of its own, removed afterwards); 2 worker
processes then claim them in batches (``claim_due(None, …, limit=500)``) and complete each as
sent. Printed per backend: scheduling rate, claim-and-complete rate (actions/s, from the first
worker's start to the last one's end) and "fired twice", counted from what the workers report
(an id completed by both, or twice by one) and checked against the final statuses.

    python benchmarks/agenda.py [--actions 100000] [--batch 500] [--workers 2]
        [--redis redis://127.0.0.1:6379/0] [--postgres postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services import pg_schema  # noqa: E402

from runtime.ports import (  # noqa: E402
    ActionKind,
    ActionStatus,
    ScheduledAction,
    StateBackend,
    open_state,
)

TENANTS = ("acme", "globex", "initech", "umbrella")
CONVERSATIONS = 100  # per tenant


def _action(n: int, due: datetime) -> ScheduledAction:
    tenant = TENANTS[n % len(TENANTS)]
    conversation = f"c{(n // len(TENANTS)) % CONVERSATIONS}"
    return ScheduledAction(
        tenant=tenant,
        id=f"cart-recovery:{conversation}:{n}",
        goal="cart-recovery",
        conversation=conversation,
        agent="support",
        action=ActionKind.FOLLOW_UP,
        due_at=due,
        expires_at=due + timedelta(days=1),
        max_attempts=3,
        data={"text": f"Still thinking about your cart? ({n})"},
        created_at=due,
    )


def worker(url: str, holder: str, start: float, batch: int, report: Path) -> None:
    """Claim and complete until nothing is due; write what was completed, and when."""
    state = open_state(url)
    time.sleep(max(0.0, start - time.time()))
    began, done = time.time(), []
    while actions := state.claim_due(None, datetime.now(UTC), holder, timedelta(minutes=5), batch):
        for a in actions:
            now = datetime.now(UTC)
            if state.complete(a.tenant, a.id, holder, ActionStatus.SENT, now, channel="sms"):
                done.append(f"{a.tenant}/{a.id}")
    ended = time.time()
    state.close()
    report.write_text(json.dumps({"began": began, "ended": ended, "done": done}))


def run(url: str, label: str, total: int, batch: int, workers: int) -> None:
    state: StateBackend = open_state(url)
    try:
        due = datetime.now(UTC) - timedelta(minutes=1)
        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            stored = sum(pool.map(lambda n: state.schedule(_action(n, due)), range(total)))
        assert stored == total
        seeded = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as tmp:
            start = time.time() + 2.0
            reports = [Path(tmp) / f"w{i}.json" for i in range(workers)]
            command = [sys.executable, __file__, "--worker", url, str(start), str(batch)]
            procs = [
                subprocess.Popen([*command, f"w{i}", str(reports[i])], cwd=ROOT)
                for i in range(workers)
            ]
            for proc in procs:
                assert proc.wait(timeout=3600) == 0
            results = [json.loads(r.read_text()) for r in reports]
        elapsed = max(r["ended"] for r in results) - min(r["began"] for r in results)
        fired = Counter(key for r in results for key in r["done"])
        twice = sum(1 for n in fired.values() if n > 1)
        final = Counter(
            a.status
            for tenant in TENANTS
            for c in range(CONVERSATIONS)
            for a in state.actions(tenant, f"c{c}")
        )
        print(f"{label}: {total} due actions, {workers} workers, batches of {batch}")
        print(f"  schedule        {total / seeded:,.0f} actions/s (8 threads, one process)")
        print(
            f"  claim+complete  {total / elapsed:,.0f} actions/s ({elapsed:.1f} s; per worker "
            + ", ".join(str(len(r["done"])) for r in results)
            + ")"
        )
        print(
            f"  fired twice: {twice}   completed: {len(fired)}/{total}   "
            f"final sent: {final[ActionStatus.SENT]}"
        )
        if twice or len(fired) != total or final[ActionStatus.SENT] != total:
            raise SystemExit(f"{label}: the agenda fired an action twice or lost one")
    finally:
        state.close()


@contextlib.contextmanager
def _redis_prefix(url: str) -> Iterator[str]:
    """A key prefix of its own, whose keys are deleted afterwards."""
    import redis

    prefix = f"focalbench-{uuid.uuid4().hex[:8]}"
    try:
        yield f"{url}?prefix={prefix}"
    finally:
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        for i in range(0, len(keys), 1000):
            client.delete(*keys[i : i + 1000])
        client.close()


def main() -> None:
    if sys.argv[1:2] == ["--worker"]:
        url, start, batch, holder, report = sys.argv[2:7]
        worker(url, holder, float(start), int(batch), Path(report))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actions", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with pg_schema(args.postgres) as pg_url:
        run(pg_url, "PostgreSQL", args.actions, args.batch, args.workers)
    with _redis_prefix(args.redis) as redis_url:
        run(redis_url, "Redis", args.actions, args.batch, args.workers)


if __name__ == "__main__":
    main()
