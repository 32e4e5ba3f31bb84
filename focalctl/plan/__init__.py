"""Plan: diff a candidate snapshot against the active release, with risk notes.

Pure functions over snapshot bodies: :func:`diff` gives object- and field-level changes,
:func:`risks` the changes users must not miss, :mod:`focalctl.plan.render` the Terraform-like
text view and the versioned JSON document.
"""

from focalctl.plan.diff import Change, FieldChange, PlanResult, diff

__all__ = ["Change", "FieldChange", "PlanResult", "diff"]
