"""Benchmark: the turn pipeline (issue 12).

- In process: the turn gateway + service + brain per turn, deterministic provider (intent
  and slots given), internal tools, memory state, the default bundle's two-turn order-status
  conversation: p50/p99 per turn; target p99 ≤ 5 ms.
- Over HTTP: a real `focalctl serve` with Redis state (and PostgreSQL, beside it), loaded by
  `wrk` (N connections; N httpx threads when wrk is not installed) for a few seconds, each
  running conversations of two turns: turns per second;
  target ≥ 500/s with Redis on this machine. The bundle is the default one with its rate
  limits raised, so the limiter does not cap the figure, and its web channel's debounce set
  to 0: a debounce is time a turn waits for more messages, not work, and would make the
  figure clients / debounce.

    python benchmarks/turns.py [--seconds 5] [--clients 8]
        [--redis redis://127.0.0.1:6379/0] [--postgres postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services import pg_schema  # noqa: E402

from focalctl.compile import compile_paths  # noqa: E402
from focalctl.publish import FileTarget  # noqa: E402
from runtime.conversations import TurnRequest, TurnService  # noqa: E402
from runtime.gateway import TurnGateway  # noqa: E402
from runtime.layout import Pointer  # noqa: E402
from runtime.ports import SimulatedClock  # noqa: E402
from runtime.ports.memory import MemoryState  # noqa: E402
from runtime.registry import SnapshotRegistry  # noqa: E402
from runtime.tools.demo import demo_gateway  # noqa: E402


def bundle(tmp: Path) -> Path:
    """agents.d with limits a load test does not hit, and no debounce."""
    out = tmp / "bundle"
    shutil.copytree(ROOT / "agents.d", out)
    tenant = out / "tenant.yaml"
    tenant.write_text(
        tenant.read_text().replace(
            "  tier: free\n",
            "  tier: enterprise\n  rateLimit: {perMinute: 10000000, burst: 1000000}\n",
        )
    )
    channels = out / "channels.yaml"
    text = channels.read_text()
    assert "turn: {debounce: 600ms" in text, "agents.d's web channel changed: update the bench"
    channels.write_text(
        text.replace(
            "  channel: webchat\n", "  channel: webchat\n  rateLimit: {perMinute: 60000000}\n"
        ).replace("turn: {debounce: 600ms", "turn: {debounce: '0'")
    )
    return out


def in_process(root: Path, turns: int) -> None:
    snap = compile_paths([root]).snapshots["demo"]
    reg = SnapshotRegistry()
    reg.offer("demo", "dev", 1, snap.id, snap.raw, "bench")
    clock = SimulatedClock(datetime(2026, 3, 2, 10, tzinfo=UTC))
    service = TurnService(reg, MemoryState(), clock, {"internal": demo_gateway()})
    gateway = TurnGateway(service, inline=True)
    times = []
    for i in range(turns // 2):
        for mid, fields in (
            ("a", {"intent": "order_status"}),
            ("b", {"slots": {"order_id": f"A-{i}"}}),
        ):
            request = TurnRequest("demo", "concierge", "web", f"c{i}", f"m{i}{mid}", "hi", **fields)
            start = time.perf_counter()
            assert gateway.handle(request).status == "processed"
            times.append(time.perf_counter() - start)
            clock.advance(timedelta(milliseconds=50))
    times.sort()
    p50, p99 = times[len(times) // 2], times[int(len(times) * 0.99)]
    print(f"in process, {len(times)} turns (memory state, internal tools):")
    print(f"  p50 {p50 * 1000:.2f} ms   p99 {p99 * 1000:.2f} ms   (target p99 ≤ 5 ms)")


_WRK_SCRIPT = r"""
-- two-turn conversations, one connection per thread (so a conversation's turns are in order)
local counter, id = 0, 0
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args) run = args[1] end
function request()
  counter = counter + 1
  local conv = run .. "-" .. id .. "-" .. math.floor((counter + 1) / 2)
  local turn, fields = "b", '"slots":{"order_id":"A-1"}'
  if counter % 2 == 1 then turn, fields = "a", '"intent":"order_status"' end
  local body = '{"tenant":"demo","agent":"concierge","channel":"web","conversation_id":"'
    .. conv .. '","message_id":"' .. conv .. turn .. '","text":"hi",' .. fields .. "}"
  return wrk.format("POST", "/v1/turns", {["Content-Type"] = "application/json"}, body)
end
function done(summary, latency, requests)
  io.write(string.format("FOCAL %d %d %d %d %d\n", summary.requests, summary.duration,
    summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def over_http(
    root: Path, state: str, seconds: float, clients: int, label: str, workers: int = 1
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        snap = compile_paths([root]).snapshots["demo"]
        FileTarget(ws / "live").publish(Pointer("demo", "dev", 1, snap.id), snap.raw)
        port = _free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
        log = (ws / "serve.log").open("w")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "focalctl.cli.main",
                "serve",
                "--source",
                f"file:{ws / 'live'}",
                "--port",
                str(port),
                "--state",
                state,
                "--log-level",
                "warning",
                "--workers",
                str(workers),
            ],
            cwd=ws,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait(url)
            if workers > 1:
                time.sleep(5)  # every worker up: /healthz answers when the first one is
            wrk = shutil.which("wrk")
            if wrk:
                total, elapsed, errors, p50, p99 = _load_wrk(wrk, url, ws, seconds, clients)
                how = f"wrk, {clients} connections"
                extra = f", p50 {p50 / 1000:.1f} ms p99 {p99 / 1000:.1f} ms"
            else:
                total, elapsed, errors = _load_httpx(url, seconds, clients)
                how, extra = f"{clients} httpx client threads (install wrk for a lighter load)", ""
            procs = f", {workers} server processes" if workers > 1 else ""
            print(
                f"over HTTP, {label} state{procs}, {how}, {elapsed:.1f} s: "
                f"{total / elapsed:.0f} turns/s ({total} turns, {errors} errors{extra})"
                + ("   (target ≥ 500/s)" if label == "Redis" else "")
            )
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            log.close()


def _load_wrk(
    wrk: str, url: str, ws: Path, seconds: float, clients: int
) -> tuple[int, float, int, float, float]:
    """wrk (a C load generator on its own threads) drives the server: the client's cost no
    longer competes with the server for the two cores as Python threads do."""
    script = ws / "turns.lua"
    script.write_text(_WRK_SCRIPT)
    out = subprocess.run(
        [
            wrk,
            "-t",
            str(clients),
            "-c",
            str(clients),
            "-d",
            f"{seconds:g}s",
            "-s",
            str(script),
            url,
            "--",
            uuid.uuid4().hex[:8],
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("FOCAL "))
    requests, micros, errors, p50, p99 = (int(v) for v in line.split()[1:])
    return requests, micros / 1e6, errors, p50, p99


def _load_httpx(url: str, seconds: float, clients: int) -> tuple[int, float, int]:
    done: list[int] = []
    errors: list[str] = []
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        count, http = 0, httpx.Client(base_url=url, timeout=10)
        run = uuid.uuid4().hex[:8]
        while time.monotonic() < stop:
            conv = f"{run}-{n}-{count}"
            for mid, fields in (
                ("a", {"intent": "order_status"}),
                ("b", {"slots": {"order_id": "A-1"}}),
            ):
                body = {
                    "tenant": "demo",
                    "agent": "concierge",
                    "channel": "web",
                    "conversation_id": conv,
                    "message_id": conv + mid,
                    "text": "hi",
                    **fields,
                }
                r = http.post("/v1/turns", json=body)
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {r.text[:100]}")
                count += 1
        done.append(count)
        http.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        print("  first error:", errors[0])
    return sum(done), time.monotonic() - started, len(errors)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = bundle(Path(tmp))
        in_process(root, args.turns)
        prefix = f"focalbench-{uuid.uuid4().hex[:8]}"
        try:
            redis_url = f"{args.redis}?prefix={prefix}"
            over_http(root, redis_url, args.seconds, args.clients, "Redis")
            over_http(root, redis_url, args.seconds, args.clients, "Redis", workers=2)
        finally:
            import redis

            client = redis.Redis.from_url(args.redis)
            keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
            if keys:
                client.delete(*keys)
        with pg_schema(args.postgres) as pg_url:
            over_http(root, pg_url, args.seconds, args.clients, "PostgreSQL")
            over_http(root, pg_url, args.seconds, args.clients, "PostgreSQL", workers=2)
        over_http(root, f"sqlite:///{tmp}/state.db", args.seconds, args.clients, "SQLite")


if __name__ == "__main__":
    main()
