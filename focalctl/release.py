"""plan / apply / rollback: the only code that changes the store and the publish target.

An apply moves through stages, each safe to be killed after:

1. ``lock``: take the (tenant, env) lock (it expires, so a crashed apply blocks only until then).
2. ``reconcile``: settle what a crashed apply left: a pending release already live on the
   target is marked published; one that never reached it is dropped; a target behind the
   store is re-published.
3. ``store``: store the snapshot (content-addressed, idempotent) and a *pending* release.
4. ``publish``: write the snapshot and move the pointer on the target.
5. ``finalize``: mark the release published; release the lock.

Readers only ever see published releases, and every command reconciles first, so the store and
the pointer agree: both old or both new.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from focalctl.bulk import bulk_allocation
from focalctl.compile import CompiledSnapshot, compile_paths
from focalctl.diagnostics import Diagnostic
from focalctl.partial import PartialCache
from focalctl.plan import PlanResult, diff
from focalctl.publish import PublishError, Target
from focalctl.store import Release, Store, StoreError
from focalctl.store.db import DEFAULT_LOCK_TTL
from runtime.layout import Pointer
from runtime.snapshot import snapshot_id

PLAN_FORMAT_VERSION = "1.0"


class StalePlan(StoreError):
    pass


@dataclass(slots=True)
class TenantPlan:
    tenant: str
    env: str
    base: Release | None
    candidate: CompiledSnapshot
    result: PlanResult

    @property
    def unchanged(self) -> bool:
        return self.base is not None and self.base.snapshot_id == self.candidate.id


@dataclass(frozen=True, slots=True)
class ApplyOutcome:
    tenant: str
    env: str
    release: Release | None  # None: nothing changed
    published_to: str


def lock_ttl() -> timedelta:
    raw = os.environ.get("FOCAL_LOCK_TTL")
    return timedelta(seconds=float(raw)) if raw else DEFAULT_LOCK_TTL


def _pause(stage: str) -> None:
    """Test hook: FOCAL_TEST_PAUSE=stage:seconds sleeps before that stage (to SIGKILL there)."""
    spec = os.environ.get("FOCAL_TEST_PAUSE", "")
    for item in spec.split(","):
        name, _, seconds = item.partition(":")
        if name == stage and seconds:
            time.sleep(float(seconds))


def make_plans(
    store: Store,
    target: Target,
    paths: Iterable[str | Path],
    env: str,
    tenant: str | None,
    cache: PartialCache | None = None,
) -> tuple[list[TenantPlan], list[Diagnostic]]:
    """Compile the bundle and diff each tenant's candidate against its active release."""
    with bulk_allocation():  # the base bodies are parsed while the bundle is still alive
        return _make_plans(store, target, paths, env, tenant, cache)


def _make_plans(
    store: Store,
    target: Target,
    paths: Iterable[str | Path],
    env: str,
    tenant: str | None,
    cache: PartialCache | None,
) -> tuple[list[TenantPlan], list[Diagnostic]]:
    compiled = compile_paths(paths, cache)
    if not compiled.ok:
        return [], compiled.diagnostics
    snapshots = compiled.snapshots
    if tenant is not None:
        if tenant not in snapshots:
            have = ", ".join(sorted(snapshots)) or "none"
            raise StoreError(
                f"the bundle defines no tenant '{tenant}' (it defines: {have}); a bundle only plans its own tenants"
            )
        snapshots = {tenant: snapshots[tenant]}
    if not snapshots:
        raise StoreError("the bundle defines no Tenant document; nothing to plan")
    plans = []
    for name, candidate in sorted(snapshots.items()):
        reconcile(store, target, name, env)
        base = store.active(name, env)
        base_body = json.loads(store.get_snapshot(base.snapshot_id).raw) if base else None
        plans.append(TenantPlan(name, env, base, candidate, diff(base_body, candidate.body)))
    return plans, compiled.diagnostics


def reconcile(
    store: Store, target: Target, tenant: str, env: str, *, have_lock: bool = False
) -> None:
    """Settle what an interrupted apply left behind (see the module docstring)."""
    pointer = target.current(tenant, env)
    lock = None if have_lock else store.lock(tenant, env)
    holder_alive = lock is not None and not _expired(lock)
    with store.tx() as conn:
        for pending in store.pending(tenant, env, conn):
            if (
                pointer is not None
                and pointer.version == pending.version
                and pointer.snapshot == pending.snapshot_id
            ):
                store.mark_published(conn, tenant, env, pending.version)
            elif not holder_alive:
                store.drop_pending(conn, tenant, env, pending.version)
        active = store.active(tenant, env, conn)
    if active is not None and (pointer is None or pointer.version < active.version):
        snap = store.get_snapshot(active.snapshot_id)
        target.publish(Pointer(tenant, env, active.version, active.snapshot_id), snap.raw)


def _expired(lock: dict[str, Any]) -> bool:
    from focalctl.store.db import aware, now

    return aware(lock["expires_at"]) <= now()


def apply_plan(
    store: Store,
    target: Target,
    plan: TenantPlan,
    *,
    message: str = "",
    expected_base: int | None = None,
    check_base: bool = False,
) -> ApplyOutcome:
    """Store, release and publish one tenant's candidate under its lock."""
    return _release(
        store,
        target,
        plan.tenant,
        plan.env,
        plan.candidate.raw,
        plan.candidate.id,
        compiled=plan.candidate,
        kind="apply",
        message=message,
        expected_base=expected_base if check_base else None,
        check_base=check_base,
    )


def rollback(
    store: Store, target: Target, tenant: str, env: str, to_version: int, *, message: str = ""
) -> ApplyOutcome:
    """A new release pointing at version ``to_version``'s snapshot: no recompilation."""
    reconcile(store, target, tenant, env)
    old = store.release(tenant, env, to_version)
    if old is None:
        versions = [r.version for r in store.history(tenant, env)]
        shown = f"{versions[0]}..{versions[-1]}" if versions else "none yet"
        raise StoreError(
            f"{tenant}/{env} has no release version {to_version} (versions: {shown}); see focalctl history"
        )
    snap = store.get_snapshot(old.snapshot_id)
    if snap.tenant != tenant:
        raise StoreError(
            f"release {to_version} of {tenant}/{env} points at a snapshot of tenant {snap.tenant}; refusing"
        )
    return _release(
        store,
        target,
        tenant,
        env,
        snap.raw,
        old.snapshot_id,
        compiled=None,
        kind="rollback",
        message=message or f"rollback to version {to_version}",
        rollback_of=to_version,
        force=True,
    )


def _release(
    store: Store,
    target: Target,
    tenant: str,
    env: str,
    raw: bytes,
    snap_id: str,
    *,
    compiled: CompiledSnapshot | None,
    kind: str,
    message: str,
    expected_base: int | None = None,
    check_base: bool = False,
    rollback_of: int | None = None,
    force: bool = False,
) -> ApplyOutcome:
    if snapshot_id(raw) != snap_id:
        raise StoreError(
            f"candidate snapshot does not match its id {snap_id}; the plan file is damaged"
        )
    _pause("lock")
    lock_id = store.acquire(tenant, env, lock_ttl())
    try:
        reconcile(store, target, tenant, env, have_lock=True)
        active = store.active(tenant, env)
        if check_base and (active.version if active else 0) != (expected_base or 0):
            now_v = active.version if active else 0
            raise StalePlan(
                f"stale plan: the active release of {tenant}/{env} is now version {now_v} "
                f"(the plan was made against {expected_base or 0}); re-run focalctl plan"
            )
        if active is not None and active.snapshot_id == snap_id and not force:
            return ApplyOutcome(tenant, env, None, target.description)
        _pause("store")
        with store.tx() as conn:
            if not store.holds(conn, tenant, env, lock_id):
                raise StoreError(
                    f"lost the lock on {tenant}/{env} (it expired); nothing was released, re-run apply"
                )
            if compiled is not None:
                store.put_snapshot(
                    conn,
                    id=snap_id,
                    tenant=tenant,
                    raw=raw,
                    compiler_version=compiled.compiler_version,
                    source_digest=compiled.source_digest,
                    provenance=compiled.provenance,
                )
            rel = store.add_release(
                conn,
                tenant=tenant,
                env=env,
                snapshot_id=snap_id,
                kind=kind,
                message=message,
                rollback_of=rollback_of,
            )
        _pause("publish")
        try:
            target.publish(Pointer(tenant, env, rel.version, snap_id), raw)
        except PublishError:
            with store.tx() as conn:
                store.drop_pending(conn, tenant, env, rel.version)
            raise
        _pause("finalize")
        with store.tx() as conn:
            store.mark_published(conn, tenant, env, rel.version)
        final = store.release(tenant, env, rel.version)
        assert final is not None
        return ApplyOutcome(tenant, env, final, target.description)
    finally:
        store.unlock(tenant, env, lock_id)


def save_plan(path: Path, plan: TenantPlan) -> None:
    from focalctl.plan.render import plan_json

    doc = {
        "format_version": PLAN_FORMAT_VERSION,
        "kind": "focal-plan",
        "tenant": plan.tenant,
        "env": plan.env,
        "base_version": plan.base.version if plan.base else 0,
        "base_snapshot": plan.base.snapshot_id if plan.base else None,
        "candidate": {
            "id": plan.candidate.id,
            "raw": plan.candidate.raw.decode("utf-8"),
            "provenance": plan.candidate.provenance,
            "sources": plan.candidate.sources,
            "source_digest": plan.candidate.source_digest,
            "compiler_version": plan.candidate.compiler_version,
            "object_count": plan.candidate.object_count,
        },
        "plan": plan_json(plan),
    }
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def load_plan(path: Path, store: Store) -> tuple[TenantPlan, int]:
    """Read a saved plan; returns it and the base version it was made against."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("kind") != "focal-plan":
            raise ValueError("not a focal plan file")
        if doc.get("format_version") != PLAN_FORMAT_VERSION:
            raise ValueError(
                f"plan format {doc.get('format_version')!r} is not {PLAN_FORMAT_VERSION}"
            )
        cand = doc["candidate"]
        raw = cand["raw"].encode("utf-8")
        body = json.loads(raw)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StoreError(f"cannot read plan file {path}: {exc}") from exc
    if snapshot_id(raw) != cand["id"]:
        raise StoreError(
            f"plan file {path} is damaged: its snapshot does not match {cand['id']}; re-run focalctl plan"
        )
    compiled = CompiledSnapshot(
        tenant=doc["tenant"],
        body=body,
        raw=raw,
        id=cand["id"],
        provenance_parts=(CompiledSnapshot.provenance_part(cand.get("provenance", {})),),
        sources=cand.get("sources", {}),
        source_digest=cand.get("source_digest", ""),
        object_count=int(cand.get("object_count", 0)),
        compiler_version=cand.get("compiler_version", ""),
    )
    base = store.active(doc["tenant"], doc["env"])
    base_body = json.loads(store.get_snapshot(base.snapshot_id).raw) if base else None
    plan = TenantPlan(doc["tenant"], doc["env"], base, compiled, diff(base_body, body))
    return plan, int(doc.get("base_version", 0))
