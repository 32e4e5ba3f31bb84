"""The runtime server as operators run it: a real `focalctl serve` process, real HTTP, real Redis."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from focalctl.publish import FileTarget, RedisTarget
from runtime.layout import (
    Pointer,
    pointer_path,
    redis_channel,
    redis_current_key,
    redis_snapshot_key,
    snapshot_path,
)
from tests.conftest import REPO, focalctl, focalctl_env

from .helpers import corrupt, free_port, release


class Server:
    def __init__(
        self,
        source: str,
        cwd: Path,
        port: int,
        extra: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.url = f"http://127.0.0.1:{port}"
        env = focalctl_env(env)
        self.log = cwd / f"serve-{port}.log"
        with self.log.open("w") as out:  # a file, not a pipe: a full pipe would block the server
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "focalctl.cli.main",
                    "serve",
                    "--source",
                    source,
                    "--port",
                    str(port),
                    *(extra or []),
                ],
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )
        deadline = time.monotonic() + 60  # a loaded CI machine: the wait ends at the first answer
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/healthz", timeout=1)
                return
            except httpx.HTTPError:
                if self.proc.poll() is not None:
                    raise RuntimeError(self.log.read_text()) from None
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=5)

    def wait_for(self, check: Callable[[], bool], timeout: float = 5.0) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if check():
                return time.monotonic() - start
            time.sleep(0.02)
        raise AssertionError(f"condition not met within {timeout}s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def health(server: Server) -> dict[str, Any]:
    return dict(server.get("/healthz").json())


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[tuple[Server, FileTarget]]:
    target = FileTarget(tmp_path / "live")
    sid, raw = release(1)
    target.publish(Pointer("demo", "dev", 1, sid), raw)
    server = Server(
        f"file:{tmp_path / 'live'}", tmp_path, free_port(), ["--cache-dir", str(tmp_path / "cache")]
    )
    yield server, target
    server.stop()


@pytest.fixture
def redis_server(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> Iterator[tuple[Server, RedisTarget]]:
    target = RedisTarget.from_url(f"{redis_url}?prefix={redis_prefix}")
    sid, raw = release(1)
    target.publish(Pointer("demo", "dev", 1, sid), raw)
    source = f"{redis_url}?prefix={redis_prefix}"
    server = Server(source, tmp_path, free_port(), ["--cache-dir", str(tmp_path / "cache")])
    yield server, target
    server.stop()


def test_apply_reaches_the_server_within_a_second(tmp_path: Path) -> None:
    shutil.copytree(REPO / "agents.d", tmp_path / "agents.d")
    applied = focalctl("apply", "agents.d", "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    server = Server("file:.focal/live", tmp_path, free_port())
    try:
        first = server.get("/v1/tenants/demo/effective?agent=concierge")
        assert first.status_code == 200 and first.json()["settings"]["llm"]["temperature"] == 0.4
        tenant = tmp_path / "agents.d" / "tenant.yaml"
        tenant.write_text(tenant.read_text().replace("temperature: 0.4", "temperature: 0.9"))
        applied = focalctl("apply", "agents.d", "--auto-approve", cwd=tmp_path)
        assert applied.returncode == 0, applied.stderr
        took = server.wait_for(
            lambda: (
                server.get("/v1/tenants/demo/effective?agent=concierge").json()["settings"]["llm"][
                    "temperature"
                ]
                == 0.9
            ),
            timeout=1.0,
        )
        assert took < 1.0
        response = server.get("/v1/tenants/demo/config")
        assert response.headers["X-Focal-Snapshot"] == response.json()["snapshot"]
        assert response.json()["version"] == 2
    finally:
        server.stop()


def test_bad_requests_are_4xx_json_never_500(file_server: tuple[Server, FileTarget]) -> None:
    server, _ = file_server
    cases = {
        "/v1/tenants/nope/config": 404,
        "/v1/tenants/demo/effective": 400,
        "/v1/tenants/demo/effective?agent=ghost": 404,
        "/v1/tenants/demo/effective?agent=concierge&step=x": 400,
        "/v1/tenants/demo/effective?agent=concierge&scenario=order-status&step=nope": 404,
        "/nowhere": 404,
    }
    for path, status in cases.items():
        r = server.get(path)
        assert r.status_code == status, (path, r.text)
        assert "error" in r.json() and r.json()["error"]["code"] and "X-Focal-Snapshot" in r.headers
    metrics = server.get("/metrics")
    assert metrics.status_code == 200 and "focal_snapshot_version" in metrics.text


def _publish_bad(target: FileTarget | RedisTarget, version: int, kind: str) -> None:
    sid, raw = corrupt(kind)
    if isinstance(target, FileTarget):
        path = snapshot_path(target.root, sid)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
        pointer_path(target.root, "demo", "dev").write_bytes(
            Pointer("demo", "dev", version, sid).to_json()
        )
    else:
        target.client.set(redis_snapshot_key(target.prefix, "demo", "dev", sid), raw)
        pointer = Pointer("demo", "dev", version, sid).to_json()
        target.client.set(redis_current_key(target.prefix, "demo", "dev"), pointer)
        target.client.publish(redis_channel(target.prefix), pointer)


@pytest.mark.parametrize("source", ["file", "redis"])
def test_corrupt_candidates_are_rejected_and_reported(
    source: str, request: pytest.FixtureRequest
) -> None:
    server, target = request.getfixturevalue(f"{source}_server")
    good = health(server)["tenants"]["demo"]["snapshot"]
    for version, kind in enumerate(
        ["truncated", "not_json", "digest_mismatch", "schema_invalid", "future_format"], start=2
    ):
        _publish_bad(target, version, kind)
        server.wait_for(
            lambda k=kind: (
                (health(server)["tenants"]["demo"]["last_rejected"] or {}).get("reason") == k
            )
        )
        state = health(server)["tenants"]["demo"]
        assert state["snapshot"] == good and state["version"] == 1
        assert server.get("/v1/tenants/demo/config").headers["X-Focal-Snapshot"] == good
    assert (
        'focal_snapshot_rejected_total{reason="future_format",tenant="demo"} 1.0'
        in server.get("/metrics").text
    )


@pytest.mark.slow
@pytest.mark.parametrize("source", ["file", "redis"])
def test_reload_under_load_never_fails_a_request(
    source: str, request: pytest.FixtureRequest
) -> None:
    server, target = request.getfixturevalue(f"{source}_server")
    released = {release(1)[0]}
    stop = threading.Event()
    results: list[list[tuple[int, str, int]]] = [[] for _ in range(4)]

    def client(i: int) -> None:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            for _ in range(5000):
                try:
                    r = http.get(
                        "/v1/tenants/demo/effective",
                        params={"agent": "concierge", "channel": "sms"},
                    )
                    results[i].append(
                        (
                            r.status_code,
                            r.headers.get("X-Focal-Snapshot", ""),
                            r.json().get("version", -1),
                        )
                    )
                except httpx.HTTPError as exc:
                    results[i].append((0, repr(exc), -1))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    version = 1
    while (any(t.is_alive() for t in threads) and version < 400) or version < 201:
        version += 1
        sid, raw = release(version)
        released.add(sid)
        target.publish(Pointer("demo", "dev", version, sid), raw)
        time.sleep(0.02)
    for t in threads:
        t.join()
    stop.set()
    total = sum(len(r) for r in results)
    assert total == 20_000 and version >= 201
    failures = [x for r in results for x in r if x[0] != 200]
    assert failures == []
    assert {sid for r in results for _, sid, _ in r} <= released
    for r in results:
        versions = [v for _, _, v in r]
        assert versions == sorted(versions), "a client saw versions go backwards"
    assert len({v for r in results for _, _, v in r}) > 10  # requests really spanned many releases


def _redis_server(port: int, tmp: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            return proc
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


@pytest.mark.slow
def test_redis_loss_restart_and_boot_from_cache(tmp_path: Path) -> None:
    if shutil.which("redis-server") is None:
        if os.environ.get("FOCAL_REQUIRE_SERVICES") == "1":
            pytest.fail("redis-server binary is required")
        pytest.skip("redis-server binary not installed")
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    own = _redis_server(port, tmp_path)
    cache = ["--cache-dir", str(tmp_path / "cache"), "--resync", "15"]
    server = None
    try:
        target = RedisTarget.from_url(url)
        sid1, raw1 = release(1)
        target.publish(Pointer("demo", "dev", 1, sid1), raw1)
        server = Server(url, tmp_path, free_port(), cache)
        server.wait_for(lambda: health(server)["tenants"].get("demo", {}).get("version") == 1)
        own.kill()
        own.wait()
        time.sleep(1)
        assert server.get("/v1/tenants/demo/config").json()["version"] == 1  # still serving
        own = _redis_server(
            port, tmp_path
        )  # comes back empty; releases happen with no one listening
        target = RedisTarget.from_url(url)
        for v in (2, 3):
            sid, raw = release(v)
            target.client.set(redis_snapshot_key("focal", "demo", "dev", sid), raw)
            target.client.set(
                redis_current_key("focal", "demo", "dev"), Pointer("demo", "dev", v, sid).to_json()
            )
        took = server.wait_for(
            lambda: health(server)["tenants"]["demo"]["version"] == 3, timeout=15
        )
        assert took < 15
        server.stop()
        own.kill()
        own.wait()
        server = Server(url, tmp_path, free_port(), cache)  # Redis is down at boot
        state = health(server)["tenants"]["demo"]
        assert state["version"] == 3 and state["stale"] is True and state["source"] == "cache"
        own = _redis_server(port, tmp_path)
        sid3, raw3 = release(3)
        RedisTarget.from_url(url).publish(Pointer("demo", "dev", 3, sid3), raw3)
        server.wait_for(lambda: health(server)["tenants"]["demo"]["stale"] is False, timeout=15)
    finally:
        if server is not None:
            server.stop()
        own.kill()


def test_polling_mode_on_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FOCAL_WATCH_POLL=1 (Docker volumes, network filesystems) still goes live quickly."""
    monkeypatch.setenv("FOCAL_WATCH_POLL", "1")
    target = FileTarget(tmp_path / "live")
    sid, raw = release(1)
    target.publish(Pointer("demo", "dev", 1, sid), raw)
    server = Server(f"file:{tmp_path / 'live'}", tmp_path, free_port())
    try:
        sid2, raw2 = release(2)
        target.publish(Pointer("demo", "dev", 2, sid2), raw2)
        took = server.wait_for(
            lambda: health(server)["tenants"]["demo"]["snapshot"] == sid2, timeout=2
        )
        assert took < 1.0
    finally:
        server.stop()


def test_many_tenants_a_release_touches_only_its_own(tmp_path: Path) -> None:
    target = FileTarget(tmp_path / "live")
    tenants = [f"t{i:03d}" for i in range(100)]
    for t in tenants:
        sid, raw = release(1, t)
        target.publish(Pointer(t, "dev", 1, sid), raw)
    server = Server(f"file:{tmp_path / 'live'}", tmp_path, free_port())
    try:
        before = health(server)["tenants"]
        assert sorted(before) == tenants and all(v["version"] == 1 for v in before.values())
        sid, raw = release(2, "t042")
        target.publish(Pointer("t042", "dev", 2, sid), raw)
        server.wait_for(lambda: health(server)["tenants"]["t042"]["version"] == 2)
        after = health(server)["tenants"]
        changed = [t for t in tenants if after[t] != before[t]]
        assert changed == ["t042"]
    finally:
        server.stop()
