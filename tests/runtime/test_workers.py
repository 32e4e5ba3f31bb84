"""`focalctl serve --workers N`: N server processes share the port and the state; every
message is processed once, SIGTERM stops them all, and a memory state is refused (each worker
would keep its own conversations)."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import focalctl

from .helpers import free_port
from .test_server import Server
from .test_turn_integrity import SECRETS, Payments, _bundle, _turn


def _children(pid: int) -> list[int]:
    """The live processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _workers(pid: int) -> list[int]:
    return [
        c
        for c in _children(pid)
        if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()  # not the resource tracker
    ]


@pytest.mark.slow
def test_two_workers_share_the_port_and_the_state(tmp_path: Path) -> None:
    payments = Payments()
    live = _bundle(tmp_path, payments.url)
    state = ["--state", f"sqlite:///{tmp_path / 'state.db'}", "--workers", "2"]
    server = Server(f"file:{live}", tmp_path, free_port(), state, SECRETS)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(_workers(server.proc.pid)) < 2:
            time.sleep(0.2)
        workers = _workers(server.proc.pid)
        assert len(workers) == 2, server.log.read_text()
        server.wait_for(lambda: server.get("/healthz").status_code == 200, timeout=30)

        def converse(n: int) -> list[str]:
            conv = f"c{n}"
            first = _turn(server, conv, "m1", "where is my order", intent="order_status")
            again = _turn(server, conv, "m1", "where is my order", intent="order_status")
            return [first.json()["status"], again.json()["status"]]

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(converse, range(24)))
        assert all(a == ["processed", "duplicate"] for a in answers), answers
        for n in range(24):
            conv = httpx.get(f"{server.url}/v1/conversations/c{n}?tenant=acme", timeout=5).json()
            assert conv["turns"] == 1, conv
        assert "(2 worker processes)" in server.log.read_text()
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=20) == 0
        assert not any(Path(f"/proc/{w}").exists() for w in workers), "workers outlived it"
    finally:
        if server.proc.poll() is None:
            server.stop()
        payments.server.shutdown()


def test_workers_refuse_a_memory_state(tmp_path: Path) -> None:
    proc = focalctl("serve", "--state", "memory", "--workers", "2", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "each worker would keep its own conversations" in proc.stderr
    assert "Traceback" not in proc.stderr
