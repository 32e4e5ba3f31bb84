"""plan / apply / rollback / history as a user runs them: real subprocesses, real stores."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from focalctl.publish import open_target
from focalctl.store import open_store
from runtime.layout import pointer_path, snapshot_path
from runtime.snapshot import load
from tests.conftest import focalctl, focalctl_env, focalctl_in_process


def _store_args(url: str) -> list[str]:
    return ["--store", url]


def test_plan_apply_noop_change_rollback_history(workspace: Path, store_url: str) -> None:
    s = _store_args(store_url)
    plan = focalctl_in_process("plan", "agents.d", "--detailed-exitcode", *s, cwd=workspace)
    assert plan.returncode == 2, plan.stderr
    assert (
        "+ Tenant/demo" in plan.stdout
        and "Plan: 10 to add, 0 to change, 0 to delete." in plan.stdout
    )
    first = focalctl_in_process(
        "apply", "agents.d", "--auto-approve", "-m", "first", *s, cwd=workspace
    )
    assert first.returncode == 0, first.stderr
    assert "Applied demo (dev) version 1" in first.stdout
    again = focalctl_in_process("apply", "agents.d", "--auto-approve", *s, cwd=workspace)
    assert again.returncode == 0 and "No changes" in again.stdout
    assert (
        focalctl_in_process("plan", "agents.d", "--detailed-exitcode", *s, cwd=workspace).returncode
        == 0
    )
    tenant = workspace / "agents.d" / "tenant.yaml"
    tenant.write_text(tenant.read_text().replace("temperature: 0.4", "temperature: 0.6"))
    plan2 = focalctl_in_process("plan", "agents.d", "--json", *s, cwd=workspace)
    doc = json.loads(plan2.stdout)
    assert doc["format_version"] == "1.1" and doc["base"]["version"] == 1
    assert doc["changes"] == [
        {
            "action": "update",
            "address": "Tenant/demo",
            "new_address": None,
            "fields": [
                {"path": "defaults.llm.temperature", "action": "update", "old": 0.4, "new": 0.6}
            ],
            "attributes": None,
        }
    ]
    assert (
        focalctl_in_process("apply", "agents.d", "--auto-approve", *s, cwd=workspace).returncode
        == 0
    )
    rb = focalctl_in_process(
        "rollback", "--tenant", "demo", "--to", "1", "--auto-approve", *s, cwd=workspace
    )
    assert rb.returncode == 0, rb.stderr
    hist = json.loads(
        focalctl_in_process("history", "--tenant", "demo", "--json", *s, cwd=workspace).stdout
    )
    versions = [(r["version"], r["kind"], r["rollback_of"]) for r in hist["releases"]]
    assert versions == [(1, "apply", None), (2, "apply", None), (3, "rollback", 1)]
    assert (
        hist["releases"][0]["snapshot"]
        == hist["releases"][2]["snapshot"]
        != hist["releases"][1]["snapshot"]
    )
    pointer = json.loads(pointer_path(workspace / ".focal/live", "demo", "dev").read_text())
    assert pointer["version"] == 3 and pointer["snapshot"] == hist["releases"][0]["snapshot"]
    raw = snapshot_path(workspace / ".focal/live", pointer["snapshot"]).read_bytes()
    assert load(raw, pointer["snapshot"]).tenant == "demo"


def test_saved_plan_applies_exactly_and_goes_stale(workspace: Path, tmp_path: Path) -> None:
    assert focalctl_in_process("plan", "agents.d", "-out", "p1.json", cwd=workspace).returncode == 0
    assert focalctl_in_process("plan", "agents.d", "-out", "p2.json", cwd=workspace).returncode == 0
    assert focalctl_in_process("apply", "p1.json", "--auto-approve", cwd=workspace).returncode == 0
    stale = focalctl_in_process("apply", "p2.json", "--auto-approve", cwd=workspace)
    assert stale.returncode == 1 and "stale plan" in stale.stderr and "re-run" in stale.stderr
    doc = json.loads((workspace / "p1.json").read_text())
    doc["candidate"]["raw"] = doc["candidate"]["raw"].replace("demo", "evil", 1)
    (workspace / "bad.json").write_text(json.dumps(doc))
    bad = focalctl_in_process("apply", "bad.json", "--auto-approve", cwd=workspace)
    assert bad.returncode == 1 and "was modified" in bad.stderr and "Traceback" not in bad.stderr


def test_apply_without_terminal_needs_auto_approve(workspace: Path) -> None:
    proc = focalctl("apply", "agents.d", cwd=workspace)
    assert proc.returncode == 1 and "--auto-approve" in proc.stderr
    assert not (workspace / ".focal/live/tenants").exists()


def test_invalid_bundle_plans_nothing(workspace: Path) -> None:
    agent = workspace / "agents.d" / "agent.yaml"
    agent.write_text(agent.read_text().replace("tools: [check-order]", "tools: [check-ordr]"))
    proc = focalctl_in_process("apply", "agents.d", "--auto-approve", cwd=workspace)
    assert proc.returncode == 1 and "FOC301" in proc.stderr and "invalid" in proc.stderr
    assert not (workspace / ".focal/live/tenants").exists()


def test_tenant_isolation(workspace: Path, tmp_path: Path) -> None:
    assert focalctl_in_process("apply", "agents.d", "--auto-approve", cwd=workspace).returncode == 0
    other = focalctl_in_process("plan", "agents.d", "--tenant", "acme", cwd=workspace)
    assert other.returncode == 1 and "defines no tenant 'acme'" in other.stderr
    rb = focalctl_in_process(
        "rollback", "--tenant", "acme", "--to", "1", "--auto-approve", cwd=workspace
    )
    assert rb.returncode == 1 and "no releases" in rb.stderr
    hist = json.loads(
        focalctl_in_process("history", "--tenant", "demo", "--json", cwd=workspace).stdout
    )
    assert len(hist["releases"]) == 1


def test_redis_target_moves_pointer_forward_only(
    workspace: Path, redis_url: str, redis_prefix: str
) -> None:
    import redis

    target = f"{redis_url}?prefix={redis_prefix}"
    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub()
    pubsub.subscribe(f"{redis_prefix}:cfg-updated")
    pubsub.get_message(timeout=1)
    assert (
        focalctl_in_process(
            "apply", "agents.d", "--auto-approve", "--target", target, cwd=workspace
        ).returncode
        == 0
    )
    current = json.loads(client.get(f"{redis_prefix}:demo:dev:current"))  # type: ignore[arg-type]
    assert current["version"] == 1
    body = client.get(f"{redis_prefix}:demo:dev:snapshot:{current['snapshot']}")
    assert load(body, current["snapshot"]).tenant == "demo"  # type: ignore[arg-type]
    message = pubsub.get_message(timeout=2)
    assert message is not None and json.loads(message["data"])["version"] == 1
    tg = open_target(target)
    from runtime.layout import Pointer

    assert (
        tg.publish(Pointer("demo", "dev", 0 + 1, current["snapshot"]), body) is True
    )  # same version: idempotent
    client.set(f"{redis_prefix}:demo:dev:current", json.dumps({**current, "version": 7}))
    assert (
        tg.publish(Pointer("demo", "dev", 2, current["snapshot"]), body) is False
    )  # never backwards
    pubsub.close()
    client.close()


def _apply_proc(workspace: Path, store: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "focalctl.cli.main",
            "apply",
            "agents.d",
            "--auto-approve",
            "--store",
            store,
        ],
        cwd=workspace,
        env=focalctl_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.slow
def test_racing_applies_make_exactly_one_release_per_round(workspace: Path, store_url: str) -> None:
    tenant = workspace / "agents.d" / "tenant.yaml"
    base = tenant.read_text()
    for round_no in range(12):
        tenant.write_text(base.replace("temperature: 0.4", f"temperature: {round_no / 20:.2f}"))
        # The winner holds the lock for 1.5 s, so the two overlap even on a loaded machine
        # (a process start can take most of a second there).
        procs = [
            _apply_proc(workspace, store_url, {"FOCAL_TEST_PAUSE": "store:1.5"}) for _ in range(2)
        ]
        outs = [p.communicate(timeout=60) for p in procs]
        codes = sorted(p.returncode for p in procs)
        if codes == [0, 0]:
            # no race this round: on a loaded machine the second process started after the
            # first had finished, and found the release already made (one release either way)
            assert sum("No changes" in out for out, _ in outs) == 1, outs
            continue
        assert codes == [0, 1], outs
        loser = next(err for (out, err), p in zip(outs, procs, strict=True) if p.returncode == 1)
        # refused at the lock, or (when it read the active release before the winner took
        # the lock) at the winner's new release: either way it names why and releases nothing
        assert ("is locked by" in loser and "pid" in loser) or (
            "changed the active release" in loser
        ), loser
    store = open_store(store_url)
    versions = [r.version for r in store.history("demo", "dev")]
    assert versions == list(range(1, 13))


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["store", "publish", "finalize"])
def test_sigkill_leaves_store_and_pointer_consistent(workspace: Path, stage: str) -> None:
    store_url = f"sqlite:///{workspace}/.focal/state.db"
    assert focalctl("apply", "agents.d", "--auto-approve", cwd=workspace).returncode == 0
    tenant = workspace / "agents.d" / "tenant.yaml"
    tenant.write_text(tenant.read_text().replace("temperature: 0.4", "temperature: 0.9"))
    proc = _apply_proc(
        workspace, store_url, {"FOCAL_TEST_PAUSE": f"{stage}:30", "FOCAL_LOCK_TTL": "2"}
    )
    time.sleep(4 if stage == "store" else 5)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    time.sleep(2.1)  # the dead apply's lock expires
    hist = json.loads(focalctl("history", "--tenant", "demo", "--json", cwd=workspace).stdout)
    pointer = json.loads(pointer_path(workspace / ".focal/live", "demo", "dev").read_text())
    active = hist["releases"][-1]
    assert (pointer["version"], pointer["snapshot"]) == (active["version"], active["snapshot"])
    assert active["version"] in (1, 2)
    again = focalctl("apply", "agents.d", "--auto-approve", cwd=workspace)
    assert again.returncode == 0, again.stderr
    hist = json.loads(focalctl("history", "--tenant", "demo", "--json", cwd=workspace).stdout)
    assert [r["version"] for r in hist["releases"]] == [1, 2]


def test_corrupt_published_file_is_not_trusted(workspace: Path) -> None:
    assert focalctl_in_process("apply", "agents.d", "--auto-approve", cwd=workspace).returncode == 0
    pointer = json.loads(pointer_path(workspace / ".focal/live", "demo", "dev").read_text())
    path = snapshot_path(workspace / ".focal/live", pointer["snapshot"])
    path.write_bytes(path.read_bytes()[:-10])
    from runtime.snapshot import SnapshotError

    with pytest.raises(SnapshotError) as info:
        load(path.read_bytes(), pointer["snapshot"])
    assert info.value.reason in ("truncated", "digest_mismatch")


def _digests(root: Path) -> dict[str, str]:
    import hashlib

    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".focal/cache" not in str(p)
    }


@pytest.mark.slow
def test_plan_and_history_read_a_crashed_apply_without_settling_it(workspace: Path) -> None:
    """An apply killed after publishing, before recording it: plan compares against the
    release the target serves and history lists it, both without writing to the store or the
    target; the next apply settles it under its lock."""
    store_url = f"sqlite:///{workspace}/.focal/state.db"
    assert focalctl("apply", "agents.d", "--auto-approve", cwd=workspace).returncode == 0
    tenant = workspace / "agents.d" / "tenant.yaml"
    tenant.write_text(tenant.read_text().replace("temperature: 0.4", "temperature: 0.9"))
    proc = _apply_proc(workspace, store_url, {"FOCAL_TEST_PAUSE": "finalize:30"})
    pointer_file = pointer_path(workspace / ".focal/live", "demo", "dev")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and json.loads(pointer_file.read_text())["version"] != 2:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    before = _digests(workspace / ".focal")
    assert before, "nothing under .focal to watch"

    planned = focalctl("plan", "agents.d", "--json", cwd=workspace)
    assert planned.returncode == 0, planned.stderr
    doc = json.loads(planned.stdout)
    assert doc["base"]["version"] == 2 and doc["changes"] == [], doc
    listed = focalctl("history", "--tenant", "demo", "--json", cwd=workspace)
    assert [r["version"] for r in json.loads(listed.stdout)["releases"]] == [1, 2]
    assert _digests(workspace / ".focal") == before, "plan and history wrote something"

    again = focalctl("apply", "agents.d", "--auto-approve", cwd=workspace)
    assert again.returncode == 0 and "No changes" in again.stdout, again.stdout
    assert [r.version for r in open_store(store_url).history("demo", "dev")] == [1, 2]
