"""Reading stored releases: one release (``show``), two compared (``diff``), what a rollback
would change (``rollback --dry-run``).

Reads only: nothing here reconciles, locks or publishes. Differences are computed by
:func:`focalctl.plan.diff`, the one diff of plans, over the stored snapshot bodies.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from focalctl.plan import PlanResult, diff
from focalctl.plan.diff import objects
from focalctl.store import Release, Store, StoreError


class UnknownRelease(StoreError):
    """No published release of that version; ``hint`` lists the versions there are."""


@dataclass(frozen=True, slots=True)
class ReleaseInfo:
    release: Release
    active: bool
    compiler_version: str
    objects: dict[str, int]  # kind → how many (steps counted as their own objects)

    @property
    def object_count(self) -> int:
        return sum(self.objects.values())


@dataclass(frozen=True, slots=True)
class ReleaseDiff:
    """``new``'s snapshot against ``old``'s, as a plan would show it."""

    tenant: str
    env: str
    old: Release
    new: Release
    result: PlanResult


def get_release(store: Store, tenant: str, env: str, version: int) -> Release:
    """The published release ``version`` of tenant/env, or UnknownRelease naming the others."""
    found = store.release(tenant, env, version)
    if found is not None:
        return found
    versions = [r.version for r in store.history(tenant, env)]
    if not versions:
        raise UnknownRelease(
            f"{tenant}/{env} has no releases yet",
            f"check the tenant name and --env (releases are made by focalctl apply); "
            f"see focalctl history --tenant {tenant} --env {env}",
        )
    raise UnknownRelease(
        f"{tenant}/{env} has no release version {version}",
        f"known versions: {_versions(versions)}",
    )


def _versions(versions: list[int]) -> str:
    if len(versions) <= 12:
        return ", ".join(map(str, versions))
    return ", ".join(map(str, versions[:5])) + ", …, " + ", ".join(map(str, versions[-5:]))


def _body(store: Store, release: Release) -> dict[str, Any]:
    body = json.loads(store.get_snapshot(release.snapshot_id).raw)
    if not isinstance(body, dict):
        raise StoreError(f"snapshot {release.snapshot_id} is not a snapshot body")
    return body


def describe(store: Store, tenant: str, env: str, version: int) -> ReleaseInfo:
    release = get_release(store, tenant, env, version)
    snap = store.get_snapshot(release.snapshot_id)
    kinds = Counter(address.split("/", 1)[0] for address in objects(json.loads(snap.raw)))
    active = store.active(tenant, env)
    return ReleaseInfo(
        release=release,
        active=active is not None and active.version == release.version,
        compiler_version=snap.compiler_version,
        objects=dict(sorted(kinds.items())),
    )


def diff_releases(store: Store, tenant: str, env: str, old: int, new: int) -> ReleaseDiff:
    """What changes from release ``old`` to release ``new``."""
    a, b = get_release(store, tenant, env, old), get_release(store, tenant, env, new)
    return ReleaseDiff(tenant, env, a, b, diff(_body(store, a), _body(store, b)))


def rollback_plan(store: Store, tenant: str, env: str, to_version: int) -> ReleaseDiff:
    """What rolling tenant/env back to ``to_version`` would change: the active release's
    snapshot against that version's (the same diff and risk notes as a plan)."""
    active = store.active(tenant, env)
    if active is None:
        raise StoreError(f"{tenant}/{env} has no releases yet; nothing to roll back")
    return diff_releases(store, tenant, env, active.version, to_version)
