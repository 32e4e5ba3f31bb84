"""Hardening: a target ahead of the store, edited plan files, names that become paths or keys,
an untrusted partial-parse cache, and the errors that used to be "internal error" (exit 70)."""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from focalctl.cli.main import app
from focalctl.compile import compile_paths
from focalctl.names import InvalidName
from focalctl.partial import cache as cache_file
from focalctl.publish import FileTarget, open_target
from focalctl.release import (
    ConfigError,
    StalePlan,
    TargetAhead,
    apply_plan,
    lock_ttl,
    make_plans,
    plan_digest,
)
from focalctl.store import StoreError, open_store
from runtime.layout import Pointer, pointer_path, snapshot_path
from tests.conftest import REPO, focalctl, focalctl_in_process

INTERNAL = "internal error"


def _pointer(workspace: Path, env: str = "dev") -> dict[str, Any]:
    return json.loads(pointer_path(workspace / ".focal/live", "demo", env).read_text())


def _retemper(workspace: Path, value: str) -> None:
    tenant = workspace / "agents.d" / "tenant.yaml"
    text = tenant.read_text()
    old = text.split("temperature: ", 1)[1].split(",", 1)[0]
    tenant.write_text(text.replace(f"temperature: {old},", f"temperature: {value},"))


def _clean(proc: Any) -> None:
    assert INTERNAL not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


# -- 5. a target ahead of the store ------------------------------------------------------------


def test_apply_refuses_a_target_ahead_of_the_store(workspace: Path, store_url: str) -> None:
    """The store that published versions 1-2 is replaced (here: another store on the same
    target): apply must fail, name both sides, and record nothing; plan must fail too."""
    first = ["--store", f"sqlite:///{workspace}/first.db"]
    assert (
        focalctl_in_process("apply", "agents.d", "--auto-approve", *first, cwd=workspace).returncode
        == 0
    )
    _retemper(workspace, "0.7")
    assert (
        focalctl_in_process("apply", "agents.d", "--auto-approve", *first, cwd=workspace).returncode
        == 0
    )
    live = _pointer(workspace)
    assert live["version"] == 2
    _retemper(workspace, "0.8")
    for args in (("apply", "agents.d", "--auto-approve"), ("plan", "agents.d")):
        proc = focalctl_in_process(*args, "--store", store_url, cwd=workspace)
        _clean(proc)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "ahead of the store" in proc.stderr and "version 2" in proc.stderr
        assert live["snapshot"] in proc.stderr and "--target" in proc.stderr
        assert "Applied" not in proc.stdout and "up to date" not in proc.stdout
    assert _pointer(workspace) == live  # the runtime still serves version 2, and knows it
    store = open_store(store_url)
    try:
        assert store.history("demo", "dev") == [] and store.active("demo", "dev") is None
        with store.tx() as conn:
            assert store.pending("demo", "dev", conn=conn) == []
    finally:
        store.close()
    hist = focalctl_in_process("history", "--tenant", "demo", "--store", store_url, cwd=workspace)
    assert hist.returncode == 0 and "warning" in hist.stderr and "ahead" in hist.stderr


def test_deleted_default_store_is_not_reported_as_published(workspace: Path) -> None:
    """The issue's case: .focal/state.db deleted while .focal/live keeps version 2."""
    assert focalctl_in_process("apply", "agents.d", "--auto-approve", cwd=workspace).returncode == 0
    _retemper(workspace, "0.7")
    assert focalctl_in_process("apply", "agents.d", "--auto-approve", cwd=workspace).returncode == 0
    for db in (workspace / ".focal").glob("state.db*"):
        db.unlink()
    proc = focalctl_in_process("apply", "agents.d", "--auto-approve", cwd=workspace)
    _clean(proc)
    assert proc.returncode == 1 and "published" not in proc.stdout
    assert "the store has no release" in proc.stderr
    plan = focalctl_in_process("plan", "agents.d", "--detailed-exitcode", cwd=workspace)
    assert plan.returncode == 1 and "up to date" not in plan.stdout


class _RacingTarget(FileTarget):
    """Another store's apply moves the pointer to version 9 between reconcile and publish."""

    def publish(self, pointer: Pointer, raw: bytes) -> bool:
        if pointer.version < 9:
            super().publish(Pointer(pointer.tenant, pointer.env, 9, pointer.snapshot), raw)
        return super().publish(pointer, raw)


def test_a_refused_publish_is_an_error_and_no_release(workspace: Path, store_url: str) -> None:
    store = open_store(store_url)
    target = _RacingTarget(workspace / "live")
    try:
        plans, _ = make_plans(store, target, [workspace / "agents.d"], "dev", None)
        with pytest.raises(TargetAhead) as info:
            apply_plan(store, target, plans[0], expected_base=0, check_base=True)
        assert "version 9" in str(info.value) and info.value.hint
        assert store.history("demo", "dev") == []
        with store.tx() as conn:
            assert store.pending("demo", "dev", conn=conn) == []
        assert store.held_lock("demo", "dev") is None
    finally:
        store.close()


def test_redis_target_ahead_of_the_store(
    workspace: Path, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    target = f"{redis_url}?prefix={redis_prefix}"
    a = ["--store", f"sqlite:///{tmp_path}/a.db", "--target", target]
    b = ["--store", f"sqlite:///{tmp_path}/b.db", "--target", target]
    assert (
        focalctl_in_process("apply", "agents.d", "--auto-approve", *a, cwd=workspace).returncode
        == 0
    )
    _retemper(workspace, "0.7")
    assert (
        focalctl_in_process("apply", "agents.d", "--auto-approve", *a, cwd=workspace).returncode
        == 0
    )
    _retemper(workspace, "0.9")
    proc = focalctl_in_process("apply", "agents.d", "--auto-approve", *b, cwd=workspace)
    _clean(proc)
    assert proc.returncode == 1 and "ahead of the store" in proc.stderr
    assert open_target(target).current("demo", "dev").version == 2  # type: ignore[union-attr]


# -- 6. a saved plan binds every field ---------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tenant", "other"),
        ("env", "prod"),
        ("base_version", 1),
        ("base_snapshot", "sha256:" + "0" * 64),
        ("candidate.compiler_version", "9.9.9"),
        ("candidate.source_digest", "sha256:" + "1" * 64),
    ],
)
def test_an_edited_plan_file_is_refused(workspace: Path, field: str, value: Any) -> None:
    assert focalctl_in_process("plan", "agents.d", "-out", "p.json", cwd=workspace).returncode == 0
    doc = json.loads((workspace / "p.json").read_text())
    holder, _, key = field.rpartition(".")
    (doc[holder] if holder else doc)[key] = value
    (workspace / "p.json").write_text(json.dumps(doc))
    env = ["--env", "prod"] if field == "env" else []
    proc = focalctl_in_process("apply", "p.json", "--auto-approve", *env, cwd=workspace)
    _clean(proc)
    assert proc.returncode == 1 and "was modified" in proc.stderr and "re-run" in proc.stderr
    assert not (workspace / ".focal/live/tenants").exists()


def test_a_plan_whose_snapshot_is_another_tenants_is_refused(workspace: Path) -> None:
    """Even with a recomputed digest: the snapshot's own tenant must be the plan's."""
    assert focalctl_in_process("plan", "agents.d", "-out", "p.json", cwd=workspace).returncode == 0
    doc = json.loads((workspace / "p.json").read_text())
    doc["tenant"] = "other"
    doc["digest"] = plan_digest(doc)
    (workspace / "p.json").write_text(json.dumps(doc))
    proc = focalctl_in_process("apply", "p.json", "--auto-approve", cwd=workspace)
    _clean(proc)
    assert proc.returncode == 1 and "its snapshot is tenant 'demo'" in proc.stderr
    assert not (workspace / ".focal/live/tenants").exists()


def test_a_plan_file_of_the_old_format_is_refused(workspace: Path) -> None:
    assert focalctl_in_process("plan", "agents.d", "-out", "p.json", cwd=workspace).returncode == 0
    doc = json.loads((workspace / "p.json").read_text())
    doc["format_version"] = "1.0"
    del doc["digest"]
    (workspace / "p.json").write_text(json.dumps(doc))
    proc = focalctl_in_process("apply", "p.json", "--auto-approve", cwd=workspace)
    assert proc.returncode == 1 and "plan format '1.0'" in proc.stderr and "re-run" in proc.stderr


def test_an_unedited_plan_file_still_applies(workspace: Path) -> None:
    assert focalctl_in_process("plan", "agents.d", "-out", "p.json", cwd=workspace).returncode == 0
    proc = focalctl_in_process("apply", "p.json", "--auto-approve", cwd=workspace)
    assert proc.returncode == 0, proc.stderr
    assert _pointer(workspace)["version"] == 1


# -- 7. names that become paths or keys --------------------------------------------------------

BAD_NAMES = ["../../../../evil", "", "Prod", "a:b", "a/b", ".", "-x", "x" * 64, "é"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_bad_env_is_a_usage_error_and_writes_nothing(workspace: Path, name: str) -> None:
    proc = focalctl_in_process("apply", "agents.d", "--auto-approve", "--env", name, cwd=workspace)
    _clean(proc)
    assert proc.returncode == 2, proc.stderr
    assert "Invalid value for '--env'" in proc.stderr  # refused where the CLI reads it
    assert "invalid environment name" in proc.stderr
    assert not (workspace / ".focal/live").exists()
    assert not (workspace.parent / "evil").exists()


def test_bad_names_from_env_vars_and_other_verbs(workspace: Path) -> None:
    proc = focalctl_in_process("plan", "agents.d", cwd=workspace, env={"FOCAL_ENV": "../x"})
    assert proc.returncode == 2 and "invalid environment name" in proc.stderr
    assert "FOCAL_ENV" in proc.stderr
    for args in (
        ("history", "--tenant", "../demo"),
        ("rollback", "--tenant", "a:b", "--to", "1", "--auto-approve"),
        ("plan", "agents.d", "--tenant", ""),
    ):
        proc = focalctl_in_process(*args, cwd=workspace)
        _clean(proc)
        assert proc.returncode == 2 and "invalid tenant name" in proc.stderr, args
        assert "Invalid value for '--tenant'" in proc.stderr, args
    proc = focalctl_in_process("explain", "demo/support", "--env", "../x", cwd=workspace)
    assert proc.returncode == 2 and "invalid environment name" in proc.stderr
    proc = focalctl_in_process("force-unlock", "../x", cwd=workspace)
    assert proc.returncode == 2 and "invalid lock id" in proc.stderr


def test_bad_env_through_cli_runner(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workspace)
    result = CliRunner().invoke(app, ["apply", "agents.d", "--auto-approve", "--env", ""])
    assert result.exit_code == 2 and "invalid environment name" in result.output
    assert not (workspace / ".focal").exists()
    good = CliRunner().invoke(app, ["plan", "agents.d", "--env", "staging-eu"])
    assert good.exit_code == 0, good.output


def test_the_library_refuses_bad_names_where_paths_and_keys_are_built(
    tmp_path: Path, store_url: str, redis_url: str, redis_prefix: str
) -> None:
    sid = "sha256:" + "a" * 64
    for target in (
        FileTarget(tmp_path / "live"),
        open_target(f"{redis_url}?prefix={redis_prefix}"),
    ):
        for tenant, env in (("demo", "../../evil"), ("a:b", "dev"), ("demo", "")):
            with pytest.raises(InvalidName):
                target.publish(Pointer(tenant, env, 1, sid), b"{}")
            with pytest.raises(InvalidName):
                target.current(tenant, env)
        with pytest.raises(InvalidName):
            target.publish(Pointer("demo", "dev", 1, "sha256:../../x"), b"{}")
    assert not (tmp_path / "evil").exists() and not (tmp_path / "live").exists()
    store = open_store(store_url)
    try:
        with pytest.raises(InvalidName):
            store.acquire("demo", "../x")
        with pytest.raises(InvalidName):
            store.force_unlock("not-a-uuid")
    finally:
        store.close()


# -- 8. what apply publishes never comes from the partial-parse cache --------------------------


def _tamper(value: Any) -> Any:
    """Every temperature 0.4 in the cache becomes 0.9: in parsed documents (marshalled) and in
    compiled records (canonical JSON bytes)."""
    if isinstance(value, dict):
        return {
            k: (0.9 if k == "temperature" and v == 0.4 else _tamper(v)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_tamper(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_tamper(v) for v in value)
    if isinstance(value, bytes):
        if b'"temperature":0.4' in value:
            return value.replace(b'"temperature":0.4', b'"temperature":0.9')
        # A marshalled list (a file's document data) starts with its type code and item count.
        # Compiled records are JSON: '[{"Agent/...' read as a list header claims ~10^9 items,
        # and unmarshalling that allocates for seconds before it fails. Not a list: unchanged.
        if value[:1] not in (b"[", b"\xdb") or int.from_bytes(value[1:5], "little") > len(value):
            return value
        try:
            inner = marshal.loads(value)
        except (EOFError, ValueError, TypeError):
            return value
        return marshal.dumps(_tamper(inner)) if isinstance(inner, list) else value
    return value


def _poison_cache(cache_dir: Path) -> None:
    """An attacker with write access to a shared CI cache: a changed value, a valid digest.
    (The header's code fingerprint is kept as focalctl wrote it.)"""
    (path,) = cache_dir.glob("partial-*.bin")
    blob = path.read_bytes()
    magic, fingerprint, digest, payload = blob.split(b"\n", 3)
    assert magic + b"\n" == cache_file.MAGIC
    assert digest.decode() == hashlib.sha256(payload).hexdigest()
    data = marshal.loads(payload)
    assert "compile" in data
    tampered = _tamper(data)
    assert tampered != data
    body = marshal.dumps(tampered)
    path.write_bytes(
        b"\n".join([magic, fingerprint, hashlib.sha256(body).hexdigest().encode(), body])
    )


def test_apply_publishes_the_bundle_not_a_tampered_cache(workspace: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "ci-cache"
    env = {"FOCAL_CACHE_DIR": str(cache_dir)}
    assert focalctl_in_process("plan", "agents.d", cwd=workspace, env=env).returncode == 0
    _poison_cache(cache_dir)
    truth = compile_paths([workspace / "agents.d"]).snapshots["demo"]
    # The poisoned cache is used by plan (display only): its candidate is the forged one ...
    shown = focalctl_in_process("plan", "agents.d", "--json", cwd=workspace, env=env)
    assert shown.returncode == 0
    assert json.loads(shown.stdout)["candidate"]["snapshot"] != truth.id
    clean = focalctl_in_process("validate", "agents.d", "--no-cache", cwd=workspace, env=env)
    assert clean.returncode == 0
    # ... but apply and plan -out compile cold.
    saved = focalctl_in_process("plan", "agents.d", "-out", "p.json", cwd=workspace, env=env)
    assert saved.returncode == 0
    assert json.loads((workspace / "p.json").read_text())["candidate"]["id"] == truth.id
    _poison_cache(cache_dir)  # plan -out rewrote it from the bundle: poison again
    proc = focalctl_in_process("apply", "agents.d", "--auto-approve", cwd=workspace, env=env)
    assert proc.returncode == 0, proc.stderr
    live = _pointer(workspace)
    assert live["snapshot"] == truth.id
    body = json.loads(snapshot_path(workspace / ".focal/live", live["snapshot"]).read_bytes())
    assert body["tenant"]["spec"]["defaults"]["llm"]["temperature"] == 0.4
    # apply also rewrote the cache from the bundle: the next plan shows no change
    after = focalctl_in_process("plan", "agents.d", "--detailed-exitcode", cwd=workspace, env=env)
    assert after.returncode == 0, after.stdout


# -- 14. clear errors instead of "internal error" ----------------------------------------------


@pytest.mark.parametrize("url", ["mysql://u@127.0.0.1/db", "nosuchdb://x/y"])
def test_a_store_url_without_its_driver(workspace: Path, url: str) -> None:
    for args in (("history", "--tenant", "demo"), ("explain", "demo/concierge")):
        proc = focalctl_in_process(*args, "--store", url, cwd=workspace)
        _clean(proc)
        assert proc.returncode == 1 and "no driver for" in proc.stderr
        assert "help:" in proc.stderr and "sqlite" in proc.stderr and "postgresql" in proc.stderr


@pytest.mark.parametrize("value", ["abc", "1e300", "nan", "inf", "-5", "0", "86401"])
def test_an_unusable_lock_ttl_is_a_usage_error(workspace: Path, value: str) -> None:
    for args in (
        ("apply", "agents.d", "--auto-approve"),
        ("rollback", "--tenant", "demo", "--to", "1", "--auto-approve"),
    ):
        proc = focalctl_in_process(*args, cwd=workspace, env={"FOCAL_LOCK_TTL": value})
        _clean(proc)
        assert proc.returncode == 2 and "FOCAL_LOCK_TTL" in proc.stderr, proc.stderr
    assert not (workspace / ".focal/live").exists()


def test_lock_ttl_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOCAL_LOCK_TTL", "2.5")
    assert lock_ttl().total_seconds() == 2.5
    monkeypatch.setenv("FOCAL_LOCK_TTL", "")
    assert lock_ttl().total_seconds() == 300
    monkeypatch.setenv("FOCAL_LOCK_TTL", "1e300")
    with pytest.raises(ConfigError):
        lock_ttl()


@pytest.mark.parametrize("version", ["99999999999999999999", "9223372036854775808", "0", "-1"])
def test_rollback_to_a_version_that_cannot_exist(
    workspace: Path, store_url: str, version: str
) -> None:
    s = ["--store", store_url]
    assert (
        focalctl_in_process("apply", "agents.d", "--auto-approve", *s, cwd=workspace).returncode
        == 0
    )
    proc = focalctl_in_process(
        "rollback", "--tenant", "demo", "--to", version, "--auto-approve", *s, cwd=workspace
    )
    _clean(proc)
    assert proc.returncode == 1 and f"no release version {version}" in proc.stderr


def test_a_held_lock_names_force_unlock(workspace: Path, store_url: str) -> None:
    store = open_store(store_url)
    try:
        lock_id = store.acquire("demo", "dev", holder="ci@runner pid 1")
    finally:
        store.close()
    s = ["--store", store_url]
    proc = focalctl_in_process("apply", "agents.d", "--auto-approve", *s, cwd=workspace)
    _clean(proc)
    assert proc.returncode == 1 and "is locked by ci@runner pid 1" in proc.stderr
    assert f"focalctl force-unlock {lock_id}" in proc.stderr
    assert focalctl_in_process("force-unlock", lock_id, *s, cwd=workspace).returncode == 0
    assert (
        focalctl_in_process("apply", "agents.d", "--auto-approve", *s, cwd=workspace).returncode
        == 0
    )


def test_a_concurrent_apply_without_a_saved_plan_is_not_called_stale_plan(
    workspace: Path, store_url: str, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    shutil.copytree(workspace / "agents.d", other / "agents.d")
    _retemper(other, "0.9")
    store = open_store(store_url)
    target = FileTarget(workspace / "live")
    try:
        mine, _ = make_plans(store, target, [workspace / "agents.d"], "dev", None)
        theirs, _ = make_plans(store, target, [other / "agents.d"], "dev", None)
        apply_plan(store, target, theirs[0], expected_base=0, check_base=True)
        with pytest.raises(StalePlan) as info:
            apply_plan(store, target, mine[0], expected_base=0, check_base=True)
        message = str(info.value)
        assert "stale plan" not in message and "another apply" in message
        assert info.value.hint is not None and "focalctl apply" in info.value.hint
        with pytest.raises(StalePlan) as saved:
            apply_plan(store, target, mine[0], expected_base=0, check_base=True, saved_plan=True)
        assert "stale plan" in str(saved.value)
        assert [r.version for r in store.history("demo", "dev")] == [1]
    finally:
        store.close()


def test_store_errors_keep_their_hint() -> None:
    assert StoreError("what", "how").hint == "how" and StoreError("what").hint is None


@pytest.mark.slow
def test_an_apply_that_lost_its_lock_before_publishing_fails_clearly(workspace: Path) -> None:
    """Its lock expired and another apply (reconciling under the lock) dropped its pending
    release and made its own: it must not publish a version the store no longer has (which
    used to end in exit 70). ``plan`` reads only, so it never drops anything."""
    url = f"sqlite:///{workspace}/.focal/state.db"
    assert focalctl("apply", "agents.d", "--auto-approve", cwd=workspace).returncode == 0
    live = _pointer(workspace)
    _retemper(workspace, "0.9")
    slow = subprocess.Popen(
        [sys.executable, "-m", "focalctl.cli.main", "apply", "agents.d", "--auto-approve"],
        cwd=workspace,
        env={
            **os.environ,
            "PYTHONPATH": str(REPO),
            "NO_COLOR": "1",
            "FOCAL_LOCK_TTL": "1",
            "FOCAL_TEST_PAUSE": "publish:8",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    store = open_store(url)
    try:
        deadline = time.monotonic() + 30
        while True:  # wait for its pending release, then for its lock to expire
            with store.tx() as conn:
                if store.pending("demo", "dev", conn=conn):
                    break
            assert time.monotonic() < deadline and slow.poll() is None
            time.sleep(0.1)
    finally:
        store.close()
    time.sleep(1.5)
    db = sorted((workspace / ".focal").glob("state.db*"))  # the database, its WAL
    before = [p.read_bytes() for p in db]
    assert focalctl("plan", "agents.d", cwd=workspace).returncode == 0
    assert [p.read_bytes() for p in db] == before, "plan wrote"
    fast = focalctl("apply", "agents.d", "--auto-approve", cwd=workspace)  # drops it
    assert fast.returncode == 0 and "version 2" in fast.stdout, fast.stderr
    out, err = slow.communicate(timeout=60)
    assert slow.returncode == 1, out + err
    assert "lost the lock" in err and INTERNAL not in err and "FOCAL_LOCK_TTL" in err
    assert _pointer(workspace) != live and _pointer(workspace)["version"] == 2
    again = focalctl("apply", "agents.d", "--auto-approve", cwd=workspace)
    assert again.returncode == 0 and "No changes" in again.stdout, again.stderr


def test_concurrent_apply_message_through_the_cli(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another apply releases while this `focalctl apply` (no saved plan) waits for the lock."""
    import focalctl.release as release

    other = tmp_path / "other"
    shutil.copytree(workspace / "agents.d", other / "agents.d")
    _retemper(other, "0.9")
    url = f"sqlite:///{workspace}/state.db"
    real_pause = release._pause
    done: list[bool] = []

    def meanwhile(stage: str) -> None:
        if stage == "lock" and not done:
            done.append(True)
            store = open_store(url)
            try:
                target = FileTarget(workspace / ".focal/live")
                theirs, _ = make_plans(store, target, [other / "agents.d"], "dev", None)
                apply_plan(store, target, theirs[0], expected_base=0, check_base=True)
            finally:
                store.close()
        real_pause(stage)

    monkeypatch.setattr(release, "_pause", meanwhile)
    monkeypatch.chdir(workspace)
    result = CliRunner().invoke(app, ["apply", "agents.d", "--auto-approve", "--store", url])
    assert result.exit_code == 1, result.output
    assert "another apply or rollback changed the active release" in result.output
    assert "stale plan" not in result.output and "re-run focalctl apply" in result.output
