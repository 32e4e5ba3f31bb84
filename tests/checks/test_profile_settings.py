"""A channel profile's `settings` block takes its place in the chain: after the agent's."""

from __future__ import annotations

from pathlib import Path

from focalctl.compile import compile_paths
from runtime.settings import resolve, winners
from runtime.snapshot import load
from tests.conftest import REPO

from .bundles import AGENT, diagnostics, doc, write


def test_the_profile_level_wins_over_agent_and_loses_to_scenario() -> None:
    snap = compile_paths([REPO / "examples" / "clinic"]).snapshots["northside-clinic"]
    index = load(snap.raw, snap.id).index
    layers = index.layers("receptionist", "booking", "ask_kind", "phone")
    assert resolve(layers).llm.max_tokens == 300
    assert winners(layers)["llm.maxTokens"] == "profile"
    assert winners(index.layers("receptionist", "booking", "ask_kind", "sms-reminders")).get(
        "llm.maxTokens"
    ) in (None, "default", "tenant", "agent")


def test_the_old_turn_key_on_a_profile_says_where_it_moved(tmp_path: Path) -> None:
    channel = doc("ChannelProfile", "web", "  channel: webchat\n  turn: {debounce: 600ms}\n")
    (diag,) = diagnostics(write(tmp_path, channel=channel, agent=AGENT))
    assert diag.code == "FOC201"
    assert diag.hint and "settings: {turn: {...}}" in diag.hint
