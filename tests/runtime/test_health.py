"""Health per tenant, rejections that clear, boot from cache, /config and /metrics truth,
and `focalctl serve` refusing bad options: real server processes, real files, real Redis."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from focalctl.cli.main import app
from focalctl.publish import FileTarget, RedisTarget
from runtime.layout import Pointer, pointer_path, redis_current_key, snapshot_path
from tests.conftest import REPO

from .helpers import free_port, release
from .test_server import Server, health


def _rejected_count(server: Server, tenant: str, reason: str) -> float:
    pattern = rf'focal_snapshot_rejected_total\{{reason="{reason}",tenant="{tenant}"\}} (\S+)'
    found = re.search(pattern, server.get("/metrics").text)
    return float(found.group(1)) if found else 0.0


@pytest.mark.parametrize("source", ["file", "redis"])
def test_a_bad_pointer_of_one_tenant_is_that_tenants_problem(
    source: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if source == "file":
        target: FileTarget | RedisTarget = FileTarget(tmp_path / "live")
        url = f"file:{tmp_path / 'live'}"
    else:
        redis_url, prefix = (request.getfixturevalue(n) for n in ("redis_url", "redis_prefix"))
        target = RedisTarget.from_url(f"{redis_url}?prefix={prefix}")
        url = f"{redis_url}?prefix={prefix}"
    sid, raw = release(1)
    target.publish(Pointer("demo", "dev", 1, sid), raw)
    server = Server(url, tmp_path, free_port(), ["--resync", "0.2"])
    try:

        def write_bad(data: bytes | None) -> None:
            if isinstance(target, FileTarget):
                path = pointer_path(target.root, "evil", "dev")
                path.parent.mkdir(parents=True, exist_ok=True)
                if data is None:
                    path.unlink()
                else:
                    path.write_bytes(data)
            elif data is None:
                target.client.delete(redis_current_key(target.prefix, "evil", "dev"))
            else:
                target.client.set(redis_current_key(target.prefix, "evil", "dev"), data)

        write_bad(b"{not a pointer")
        server.wait_for(lambda: "evil" in health(server)["tenants"])
        time.sleep(1.0)  # five resyncs of the same bad candidate
        whole = server.get("/healthz")
        assert whole.status_code == 200, "one tenant's bad candidate must not fail the others"
        body = whole.json()
        assert body["status"] == "degraded"
        assert body["tenants"]["evil"]["status"] == "unavailable"
        assert body["tenants"]["evil"]["last_rejected"]["reason"] == "bad_pointer"
        assert body["tenants"]["evil"]["last_rejected"]["fix"]
        assert body["tenants"]["demo"]["status"] == "ok"
        assert any("evil" in p for p in body["problems"])
        assert server.get("/healthz?tenant=demo").status_code == 200
        assert server.get("/healthz?tenant=evil").status_code == 503
        assert _rejected_count(server, "evil", "bad_pointer") == 1.0, "counted once"

        write_bad(None)  # the bad candidate is removed: its rejection goes with it
        server.wait_for(lambda: health(server)["status"] == "ok")
        assert "evil" not in health(server)["tenants"]
        assert server.get("/healthz?tenant=evil").status_code == 503  # still nothing to serve
    finally:
        server.stop()


def test_a_rejection_clears_when_its_candidate_is_replaced(tmp_path: Path) -> None:
    target = FileTarget(tmp_path / "live")
    sid1, raw1 = release(1)
    target.publish(Pointer("demo", "dev", 1, sid1), raw1)
    server = Server(f"file:{tmp_path / 'live'}", tmp_path, free_port(), ["--resync", "0.2"])
    try:
        sid2, raw2 = release(2)
        snapshot_path(target.root, sid2).parent.mkdir(parents=True, exist_ok=True)
        snapshot_path(target.root, sid2).write_bytes(raw2[:100])  # truncated
        pointer_path(target.root, "demo", "dev").write_bytes(
            Pointer("demo", "dev", 2, sid2).to_json()
        )
        server.wait_for(lambda: health(server)["tenants"]["demo"]["status"] == "degraded")
        time.sleep(0.6)
        assert _rejected_count(server, "demo", "truncated") == 1.0
        target.publish(Pointer("demo", "dev", 3, sid1), raw1)  # rolled back to release 1
        server.wait_for(lambda: health(server)["tenants"]["demo"]["status"] == "ok")
        state = health(server)["tenants"]["demo"]
        assert state["version"] == 3 and state["last_rejected"] is None
    finally:
        server.stop()


def test_config_reports_the_version_after_a_rollback_to_the_same_snapshot(
    tmp_path: Path,
) -> None:
    target = FileTarget(tmp_path / "live")
    sid, raw = release(1)
    target.publish(Pointer("demo", "dev", 1, sid), raw)
    server = Server(f"file:{tmp_path / 'live'}", tmp_path, free_port())
    try:
        assert server.get("/v1/tenants/demo/config").json()["version"] == 1
        target.publish(Pointer("demo", "dev", 2, sid), raw)  # same snapshot, new release
        server.wait_for(lambda: server.get("/v1/tenants/demo/config").json()["version"] == 2)
    finally:
        server.stop()


def test_metrics_include_what_was_loaded_at_boot(tmp_path: Path) -> None:
    target = FileTarget(tmp_path / "live")
    sid, raw = release(4)
    target.publish(Pointer("demo", "dev", 4, sid), raw)
    server = Server(f"file:{tmp_path / 'live'}", tmp_path, free_port())
    try:
        text = server.get("/metrics").text
        assert 'focal_snapshot_version{tenant="demo"} 4.0' in text
        assert 'focal_snapshot_reloads_total{tenant="demo"} 1.0' in text
        assert re.search(r'focal_source_up\{source="file:[^"]+"\} 1\.0', text)
    finally:
        server.stop()


def test_file_source_boots_from_the_cache_when_the_snapshot_is_damaged(tmp_path: Path) -> None:
    target = FileTarget(tmp_path / "live")
    sid, raw = release(1)
    target.publish(Pointer("demo", "dev", 1, sid), raw)
    args = ["--cache-dir", str(tmp_path / "cache")]
    server = Server(f"file:{tmp_path / 'live'}", tmp_path, free_port(), args)
    server.stop()
    snapshot_path(target.root, sid).write_bytes(b"garbage")
    server = Server(f"file:{tmp_path / 'live'}", tmp_path, free_port(), args)
    try:
        state = health(server)["tenants"]["demo"]
        assert state["version"] == 1 and state["snapshot"] == sid
        assert server.get("/v1/tenants/demo/config").status_code == 200
    finally:
        server.stop()


def test_redis_unreachable_at_boot_is_logged_and_reported(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    server = Server(url, tmp_path, free_port())
    try:
        body = server.get("/healthz").json()
        assert body["status"] == "unavailable"
        server.wait_for(lambda: "cannot reach Redis" in server.log.read_text())
        server.wait_for(
            lambda: (
                bool(health(server)["sources"][0]["error"])
                and "not connected" in health(server)["sources"][0]["error"]
            )
        )
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--port", "99999"], "65535"),
        (["--port", "0"], "--port"),
        (["--source", "file:/nonexistent/focal-dir"], "does not exist"),
        (["--source", "ftp://example"], "unknown source"),
        (["--log-level", "loud"], "--log-level"),
        (["--resync", "0"], "--resync"),
        (["--env", "../evil"], "--env"),
        (["--llm", "ftp://model"], "http(s) URL"),
    ],
)
def test_serve_refuses_bad_options_with_a_usage_error(args: list[str], says: str) -> None:
    result = CliRunner().invoke(app, ["serve", *args])
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert "Traceback" not in result.output
    assert not Path("/nonexistent/focal-dir").exists()


def test_serve_bad_port_as_a_subprocess_prints_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "focalctl.cli.main", "serve", "--port", "99999"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(REPO), "NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.mark.parametrize(
    "pointer",
    [
        b'{"tenant": "../x", "env": "dev", "version": 1, "snapshot": "sha256:' + b"a" * 64 + b'"}',
        b'{"tenant": "demo", "env": "a:b", "version": 1, "snapshot": "sha256:' + b"a" * 64 + b'"}',
        b"[" * 5000 + b"]" * 5000,
    ],
)
def test_pointers_with_unusable_names_or_sizes_are_refused(pointer: bytes) -> None:
    with pytest.raises(ValueError):
        Pointer.from_json(pointer)
