"""Plan: diff a candidate snapshot against the active release, with risk notes."""
