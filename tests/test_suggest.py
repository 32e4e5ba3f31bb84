"""The did-you-mean helper: whole-word similarity, a name cut short, and the capped list."""

from __future__ import annotations

from focalctl.bundle.kinds import KIND_NAMES
from focalctl.diagnostics.suggest import closest, did_you_mean_or_list


def test_a_kind_cut_short_or_misspelt_suggests_the_kind() -> None:
    assert closest("Tool", KIND_NAMES) == "ToolEffect"
    assert closest("Chanel", KIND_NAMES) == "ChannelProfile"
    assert closest("Scenaro", KIND_NAMES) == "Scenario"
    assert closest("Widget", KIND_NAMES) is None


def test_with_nothing_close_the_hint_lists_at_most_ten_names() -> None:
    names = [f"name-{i:02}" for i in range(12)]
    hint = did_you_mean_or_list("zzz", names)
    assert hint == f"use one of: {', '.join(names[:10])} and 2 more"
    assert did_you_mean_or_list("Tol", ["ToolEffect"]) == "use one of: ToolEffect"
