"""plan / apply / rollback: the only code that changes the store and the publish target.

An apply moves through stages, each safe to be killed after:

1. ``lock``: take the (tenant, env) lock (it expires, so a crashed apply blocks only until then).
2. ``reconcile``: settle what a crashed apply left: a pending release already live on the
   target is marked published; one that never reached it is dropped; a target behind the
   store is re-published.
3. ``store``: store the snapshot (content-addressed, idempotent) and a *pending* release.
4. ``publish``: write the snapshot and move the pointer on the target.
5. ``finalize``: mark the release published; release the lock.

Readers only ever see published releases, and every command that writes reconciles first
under its lock, so the store and the pointer agree: both old or both new. ``plan`` and
``history`` never write: they read what reconciling would leave (:func:`settled`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from focalctl.compile import CompiledSnapshot, compile_paths
from focalctl.diagnostics import Diagnostic
from focalctl.gcpause import gc_paused
from focalctl.gitinfo import GitInfo
from focalctl.names import check_name
from focalctl.partial import PartialCache
from focalctl.plan import diff
from focalctl.plan.tenant import TenantPlan
from focalctl.publish import PublishError, Target
from focalctl.store import DEFAULT_LOCK_TTL, Release, Store, StoreError
from runtime.layout import Pointer
from runtime.snapshot import snapshot_id

# 1.1: a digest binds every field of the file. 1.2: the plan inside is plan JSON 1.1 (lists
# diffed element by element) and the file records the bundle's git commit. A 1.1 file still
# applies: apply recomputes the diff from the snapshots and never reads the plan inside.
PLAN_FORMAT_VERSION = "1.2"
_READABLE_PLAN_FORMATS = ("1.1", PLAN_FORMAT_VERSION)


class StalePlan(StoreError):
    pass


class TargetAhead(StoreError):
    """The publish target holds a release the store does not know: the store was deleted or
    replaced, or another store publishes to the same target. Nothing is published over it."""


class ConfigError(StoreError):
    """An environment variable with a value Focal cannot use (a usage error)."""


@dataclass(frozen=True, slots=True)
class ApplyOutcome:
    tenant: str
    env: str
    release: Release | None  # None: nothing changed
    published_to: str


MAX_LOCK_TTL = timedelta(days=1)


def lock_ttl() -> timedelta:
    """The lock lifetime: ``$FOCAL_LOCK_TTL`` seconds (a positive number up to one day), else
    5 minutes. Raises ConfigError naming the variable when its value is unusable."""
    raw = os.environ.get("FOCAL_LOCK_TTL", "")
    if not raw.strip():
        return DEFAULT_LOCK_TTL
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_LOCK_TTL.total_seconds()):
        raise ConfigError(
            f"FOCAL_LOCK_TTL={raw!r} is not a usable lock lifetime",
            f"set FOCAL_LOCK_TTL to a number of seconds above 0 and at most "
            f"{MAX_LOCK_TTL.total_seconds():.0f} (e.g. 300), or unset it for the default "
            f"({DEFAULT_LOCK_TTL.total_seconds():.0f} s)",
        )
    return timedelta(seconds=seconds)


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
    with gc_paused():  # the base bodies are parsed while the bundle is still alive
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
        base = settled(store, target, name, env)  # read only: apply reconciles under its lock
        base_body = json.loads(store.get_snapshot(base.snapshot_id).raw) if base else None
        plans.append(TenantPlan(name, env, base, candidate, diff(base_body, candidate.body)))
    return plans, compiled.diagnostics


def settled(store: Store, target: Target, tenant: str, env: str) -> Release | None:
    """The release :func:`reconcile` would leave active, found without writing anything: the
    published active one, or a newer pending one the target already serves (an apply that
    died between publishing and recording it). Raises :class:`TargetAhead` as reconcile does.
    What ``plan``, ``history`` and the plan ``apply`` shows compare against."""
    pointer = target.current(tenant, env)
    with store.tx() as conn:
        pending = store.pending(tenant, env, conn=conn)
        active = store.active(tenant, env, conn=conn)
    for candidate in pending:
        live = (
            pointer is not None
            and pointer.version == candidate.version
            and pointer.snapshot == candidate.snapshot_id
        )
        if live and (active is None or candidate.version > active.version):
            active = candidate
    if pointer is not None and (
        active is None
        or pointer.version > active.version
        or (pointer.version == active.version and pointer.snapshot != active.snapshot_id)
    ):
        raise target_ahead(target, tenant, env, pointer, active)
    return active


def reconcile(
    store: Store, target: Target, tenant: str, env: str, *, have_lock: bool = False
) -> None:
    """Settle what an interrupted apply left behind (see the module docstring)."""
    pointer = target.current(tenant, env)
    lock = None if have_lock else store.held_lock(tenant, env)
    holder_alive = lock is not None and not lock.expired
    with store.tx() as conn:
        for pending in store.pending(tenant, env, conn=conn):
            if (
                pointer is not None
                and pointer.version == pending.version
                and pointer.snapshot == pending.snapshot_id
            ):
                store.mark_published(tenant, env, pending.version, conn=conn)
            elif not holder_alive:
                store.drop_pending(tenant, env, pending.version, conn=conn)
        active = store.active(tenant, env, conn=conn)
    if pointer is not None and (
        active is None
        or pointer.version > active.version
        or (pointer.version == active.version and pointer.snapshot != active.snapshot_id)
    ):
        raise target_ahead(target, tenant, env, pointer, active)
    if active is not None and (pointer is None or pointer.version < active.version):
        snap = store.get_snapshot(active.snapshot_id)
        target.publish(Pointer(tenant, env, active.version, active.snapshot_id), snap.raw)


def target_ahead(
    target: Target, tenant: str, env: str, pointer: Pointer | None, active: Release | None
) -> TargetAhead:
    """The error for a target whose pointer the store did not make (see :class:`TargetAhead`)."""
    theirs = (
        f"version {pointer.version} (snapshot {pointer.snapshot})" if pointer else "a newer one"
    )
    ours = (
        f"has version {active.version} (snapshot {active.snapshot_id})"
        if active
        else "has no release"
    )
    served = f"version {pointer.version}" if pointer else "theirs"
    return TargetAhead(
        f"the target {target.description} is ahead of the store for {tenant}/{env}: the target "
        f"has {theirs}, the store {ours}; this store did not publish there (was "
        f".focal/state.db deleted or replaced?). Nothing was published or recorded; runtimes "
        f"keep serving {served}",
        "restore the store that published to this target (--store URL / FOCAL_STORE), or "
        "publish to another target (--target file:DIR or redis://...)",
    )


def apply_plan(
    store: Store,
    target: Target,
    plan: TenantPlan,
    *,
    message: str = "",
    expected_base: int | None = None,
    check_base: bool = False,
    saved_plan: bool = False,
) -> ApplyOutcome:
    """Store, release and publish one tenant's candidate under its lock.

    With ``check_base``, refuse when the active release is no longer ``expected_base``: a saved
    plan is stale, or (``saved_plan`` False) another apply released while this one compiled."""
    if plan.candidate.tenant != plan.tenant:
        raise StoreError(
            f"the candidate snapshot belongs to tenant {plan.candidate.tenant!r}, not "
            f"{plan.tenant!r}; refusing to release it",
            "re-run focalctl plan (a plan file must not be edited)",
        )
    return _record_and_publish(
        store,
        target,
        plan.tenant,
        plan.env,
        plan.candidate.raw,
        plan.candidate.id,
        compiled=plan.candidate,
        kind="apply",
        message=message,
        git=plan.git,
        expected_base=expected_base if check_base else None,
        check_base=check_base,
        saved_plan=saved_plan,
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
    return _record_and_publish(
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


def _record_and_publish(
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
    git: GitInfo | None = None,
    expected_base: int | None = None,
    check_base: bool = False,
    saved_plan: bool = False,
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
            if saved_plan:
                raise StalePlan(
                    f"stale plan: the active release of {tenant}/{env} is now version {now_v} "
                    f"(the plan was made against {expected_base or 0}); nothing was applied",
                    "re-run focalctl plan -out FILE, review it, and apply the new file",
                )
            raise StalePlan(
                f"another apply or rollback changed the active release of {tenant}/{env} to "
                f"version {now_v} while this one compiled (against version "
                f"{expected_base or 0}); nothing was applied",
                "re-run focalctl apply to review and apply your changes on top of it",
            )
        if active is not None and active.snapshot_id == snap_id and not force:
            return ApplyOutcome(tenant, env, None, target.description)
        _pause("store")
        with store.tx() as conn:
            if not store.holds(tenant, env, lock_id, conn=conn):
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
                git_commit=git.commit if git else None,
                git_author=git.author if git else None,
            )
        _pause("publish")
        with store.tx() as conn:  # an expired lock may have been taken, our release dropped
            ours = store.holds(tenant, env, lock_id, conn=conn) and any(
                p.version == rel.version and p.snapshot_id == snap_id
                for p in store.pending(tenant, env, conn=conn)
            )
        if not ours:
            raise StoreError(
                f"lost the lock on {tenant}/{env} before publishing (it expired after "
                f"{lock_ttl().total_seconds():g} s and another command took over); nothing was "
                "published or recorded",
                "re-run focalctl apply; if applies take longer than the lock lifetime, raise "
                "FOCAL_LOCK_TTL (seconds)",
            )
        try:
            moved = target.publish(Pointer(tenant, env, rel.version, snap_id), raw)
        except PublishError:
            with store.tx() as conn:
                store.drop_pending(tenant, env, rel.version, conn=conn)
            raise
        if not moved:  # the target has a newer version than this store ever released
            with store.tx() as conn:
                store.drop_pending(tenant, env, rel.version, conn=conn)
            raise target_ahead(target, tenant, env, target.current(tenant, env), active)
        _pause("finalize")
        with store.tx() as conn:
            store.mark_published(tenant, env, rel.version, conn=conn)
        final = store.release(tenant, env, rel.version)
        if final is None:  # dropped between the check above and publishing: the lock expired
            raise StoreError(
                f"lost the lock on {tenant}/{env} while publishing version {rel.version}: the "
                "target has it but the store dropped it; nothing else was changed",
                "raise FOCAL_LOCK_TTL (seconds) above the time an apply takes; focalctl plan "
                "now reports the target as ahead of the store, and the ways to settle it",
            )
        return ApplyOutcome(tenant, env, final, target.description)
    finally:
        store.unlock(tenant, env, lock_id)


def save_plan(path: Path, plan: TenantPlan) -> None:
    from focalctl.jsondoc import document
    from focalctl.plan.render import plan_json

    doc: dict[str, Any] = {
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
        "plan": document(plan_json(plan)),
        "git": {"commit": plan.git.commit, "author": plan.git.author} if plan.git else None,
    }
    doc["digest"] = plan_digest(doc)
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def plan_digest(doc: dict[str, Any]) -> str:
    """sha256 over every field of a plan file but ``digest`` itself (canonical JSON): tenant,
    env, base version and snapshot, the candidate and the format are bound together, so an
    edited field is refused rather than applied (the snapshot id alone binds only the bytes)."""
    body = {k: v for k, v in doc.items() if k != "digest"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(canonical.encode("ascii")).hexdigest()


def load_plan(path: Path, store: Store) -> tuple[TenantPlan, int]:
    """Read a saved plan; returns it and the base version it was made against.

    Raises StoreError when the file is not a plan, was edited after ``plan -out`` wrote it (its
    digest), or its snapshot is not its tenant's; StalePlan when its base is no longer active."""
    rerun = "re-run focalctl plan -out FILE and apply the new file (plan files must not be edited)"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or doc.get("kind") != "focal-plan":
            raise ValueError("not a focal plan file")
        if doc.get("format_version") not in _READABLE_PLAN_FORMATS:
            raise ValueError(
                f"plan format {doc.get('format_version')!r} is not one this focalctl applies "
                f"({', '.join(_READABLE_PLAN_FORMATS)})"
            )
        if doc.get("digest") != plan_digest(doc):
            raise StoreError(
                f"plan file {path} was modified after focalctl plan wrote it "
                "(its digest does not match its content); refusing to apply it",
                rerun,
            )
        tenant, env, base_version = doc["tenant"], doc["env"], doc["base_version"]
        base_snapshot, cand = doc["base_snapshot"], doc["candidate"]
        if not (isinstance(tenant, str) and isinstance(env, str) and isinstance(cand, dict)):
            raise ValueError("tenant and env must be strings, candidate an object")
        if not isinstance(base_version, int) or isinstance(base_version, bool) or base_version < 0:
            raise ValueError(f"base_version {base_version!r} is not a version")
        check_name("tenant", tenant)
        check_name("environment", env)
        git = _plan_git(doc.get("git"))
        raw = cand["raw"].encode("utf-8")
        body = json.loads(raw)
        body_tenant = body["tenant"]["name"]
    except StoreError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StoreError(f"cannot read plan file {path}: {exc}", rerun) from exc
    if snapshot_id(raw) != cand["id"]:
        raise StoreError(
            f"plan file {path} is damaged: its snapshot does not match {cand['id']}", rerun
        )
    if body_tenant != tenant:
        raise StoreError(
            f"plan file {path} is for tenant {tenant!r} but its snapshot is tenant "
            f"{body_tenant!r}'s; refusing to apply it",
            rerun,
        )
    compiled = CompiledSnapshot(
        tenant=body_tenant,
        body=body,
        raw=raw,
        id=cand["id"],
        provenance_parts=(CompiledSnapshot.provenance_part(cand.get("provenance", {})),),
        sources=cand.get("sources", {}),
        source_digest=cand.get("source_digest", ""),
        object_count=int(cand.get("object_count", 0)),
        compiler_version=cand.get("compiler_version", ""),
    )
    base = store.active(tenant, env)
    if base is not None and base.version == base_version and base.snapshot_id != base_snapshot:
        raise StalePlan(
            f"stale plan: version {base_version} of {tenant}/{env} in this store is snapshot "
            f"{base.snapshot_id}, the plan was made against snapshot {base_snapshot} "
            "(another store?)",
            "re-run focalctl plan -out FILE against this store and apply the new file",
        )
    base_body = json.loads(store.get_snapshot(base.snapshot_id).raw) if base else None
    plan = TenantPlan(tenant, env, base, compiled, diff(base_body, body), git)
    return plan, base_version


def is_plan_file(path: Path) -> bool:
    """A saved plan is any file that is not YAML (``plan -out`` writes JSON); a directory or a
    YAML file is a bundle."""
    return path.is_file() and path.suffix not in (".yaml", ".yml")


def load_saved_plan(path: Path, store: Store, tenant: str | None, env: str) -> TenantPlan:
    """A plan file to apply as ``tenant`` (any, when None) in ``env``: what ``load_plan``
    checks, and that it was made for this tenant and environment against the release that is
    still active. Raises StoreError (StalePlan when the base moved on) with the fix."""
    plan, base_version = load_plan(path, store)
    if (tenant and tenant != plan.tenant) or plan.env != env:
        raise StoreError(
            f"{path} is a plan for {plan.tenant} ({plan.env}), not {tenant or plan.tenant} ({env})",
            f"apply it with --env {plan.env}, or re-run plan for the tenant and environment "
            "you want",
        )
    active = plan.base.version if plan.base else 0
    if active != base_version:
        raise StalePlan(
            f"stale plan: the active release of {plan.tenant}/{plan.env} is now version "
            f"{active} (the plan was made against {base_version})",
            "re-run focalctl plan -out FILE, review it, and apply the new file",
        )
    return plan


def _plan_git(value: Any) -> GitInfo | None:
    """A plan file's ``git`` (absent before format 1.2): None or {commit, author} strings."""
    if value is None:
        return None
    if (
        isinstance(value, dict)
        and isinstance(value.get("commit"), str)
        and isinstance(value.get("author"), str)
    ):
        return GitInfo(value["commit"], value["author"])
    raise ValueError("git must be null or an object with commit and author strings")
