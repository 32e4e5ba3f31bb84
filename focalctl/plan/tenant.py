"""A tenant's plan: the candidate snapshot, the release it is compared with, and the diff.

Made by :func:`focalctl.release.make_plans`, shown by :mod:`focalctl.plan.render`, carried
out by :func:`focalctl.release.apply_plan`; it lives here so the view and the release code
both depend on ``plan`` and not on each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from focalctl.plan.diff import PlanResult

if TYPE_CHECKING:
    from focalctl.compile import CompiledSnapshot
    from focalctl.gitinfo import GitInfo
    from focalctl.store import Release


@dataclass(slots=True)
class TenantPlan:
    tenant: str
    env: str
    base: Release | None
    candidate: CompiledSnapshot
    result: PlanResult
    git: GitInfo | None = None  # the bundle's commit, recorded on the release

    @property
    def unchanged(self) -> bool:
        return self.base is not None and self.base.snapshot_id == self.candidate.id
