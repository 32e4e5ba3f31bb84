"""The brain on the retail example: the refund conversation as configured (confirmation,
checkpoint, duplicate delivery, typed slots), the chain limit, and a reload mid-conversation."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from focalctl.compile import compile_paths
from runtime.brain import Brain, CompiledSnapshot, Message
from runtime.ports import Conversation, SimulatedClock, open_state
from runtime.ports.memory import MemoryState
from runtime.tools import ToolEffectRegistry
from tests.conftest import REPO

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@lru_cache(maxsize=1)
def retail() -> tuple[str, bytes]:
    snap = compile_paths([REPO / "examples" / "retail"]).snapshots["acme"]
    return snap.id, snap.raw


class FakeTools:
    """Stands in for every gateway: records calls, answers per tool."""

    def __init__(self, answers: Mapping[str, Any]) -> None:
        self.answers = dict(answers)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, name: str, spec: Mapping[str, Any], args: Mapping[str, Any]) -> Any:
        self.calls.append((name, dict(args)))
        return self.answers.get(name, {})


class Harness:
    def __init__(self, answers: Mapping[str, Any], state: MemoryState | None = None) -> None:
        self.state = state or MemoryState()
        self.clock = SimulatedClock(T0)
        self.tools = FakeTools(answers)
        registry = ToolEffectRegistry(
            self.state, self.clock, {"http": self.tools, "internal": self.tools}
        )
        sid, raw = retail()
        self.brain = Brain(CompiledSnapshot(sid, raw), registry, self.clock, self.state)
        self.conv = Conversation("acme", "c1", "support", "wa-main")
        self.n = 0

    def say(self, text: str, channel: str = "wa-main", **message: Any) -> Any:
        self.n += 1
        result = self.brain.turn(
            self.conv, Message(text, **message), turn_id=f"t{self.n}", channel=channel
        )
        self.conv = result.conversation
        self.clock.advance(30)
        return result


ORDER = {
    "lookup-order": {"status": "delivered", "total": 42.0},
    "issue-refund": {"refund_id": "R-9"},
}


def test_the_refund_conversation_as_configured() -> None:
    h = Harness(ORDER)
    first = h.say("I want a refund for O-1", intent="refund", slots={"order_id": "O-1"})
    assert first.entered == ["collect_order", "check_order", "confirm_refund"]
    assert first.replies[1] == "Order O-1 (42.0 EUR) was delivered."
    assert first.confirmation == (
        "I will refund 42.0 EUR for order O-1 to your card. Shall I go ahead?"
    )
    assert [c[0] for c in h.tools.calls] == ["lookup-order"], "nothing irreversible yet"
    assert h.conv.pending is not None and h.conv.step == "confirm_refund"

    second = h.say("yes", intent="confirm")
    assert [c[0] for c in h.tools.calls] == ["lookup-order", "issue-refund"]
    assert h.tools.calls[1][1] == {"order_id": "O-1", "amount": 42.0, "reason": "customer request"}
    assert second.replies == [
        "Your refund R-9 is on its way: 3-5 business days.",
        "Is there anything else I can do for you?",
    ]
    assert h.conv.scenario is None and h.conv.pending is None

    # the customer asks again for the same order: confirmed once for these exact args, the
    # refund is answered from its record and never executed twice
    third = h.say("refund O-1 again", intent="refund", slots={"order_id": "O-1"})
    assert [c[0] for c in h.tools.calls].count("issue-refund") == 1
    assert "Your refund R-9 is on its way: 3-5 business days." in third.replies
    assert ("issue-refund", "replayed") in [(t.tool, t.status) for t in third.tools]


def test_a_declined_refund_is_never_executed() -> None:
    h = Harness(ORDER)
    h.say("refund please", intent="refund", slots={"order_id": "O-1"})
    maybe = h.say("hmm, what?", intent=None)
    assert maybe.replies == [maybe.confirmation] and maybe.confirmation
    h.say("no", intent="deny")
    assert [c[0] for c in h.tools.calls] == ["lookup-order"]
    kinds = [e.kind for e in h.state.events("acme")]
    assert "confirmation.denied" in kinds and "tool.refused" in kinds


def test_a_big_order_is_offered_store_credit_first() -> None:
    h = Harness({**ORDER, "lookup-order": {"status": "delivered", "total": 150.0}})
    result = h.say("refund", intent="refund", slots={"order_id": "O-7"})
    assert result.entered[-1] == "offer_credit" and h.conv.pending is None
    credit = h.say("store credit please", intent="store_credit")
    assert credit.entered == ["give_credit", "wrap_up"]
    assert h.tools.calls[-1] == ("issue-store-credit", {"order_id": "O-7", "amount": 165.0})


def test_a_value_that_breaks_the_slots_rule_is_asked_for_again_with_the_reason() -> None:
    h = Harness(ORDER)
    first = h.say("refund", intent="refund", slots={"order_id": "banana"})
    assert first.entered == ["collect_order"] and "order_id" not in h.conv.slots
    again = h.say("it's banana", slots={"order_id": "banana"})
    assert again.replies == [
        "Does not have the expected format. Order numbers look like O-1234. Which order is it?"
    ]
    fixed = h.say("O-12", slots={"order_id": "O-12"})
    assert fixed.entered[:2] == ["check_order", "confirm_refund"]


def test_the_sms_variant_is_said_on_sms() -> None:
    h = Harness(ORDER)
    h.conv = Conversation("acme", "c2", "support", "sms-main")
    result = h.say("refund", channel="sms-main", intent="refund")
    assert result.replies == ["Sorry to hear that. Which order (e.g. O-1234)?"]


def test_no_scenario_matches_without_a_known_intent() -> None:
    h = Harness(ORDER)
    result = h.say("hello", intent="greeting")
    assert result.entered == [] and result.replies == [] and h.conv.scenario is None


def test_a_step_gone_after_a_reload_restarts_the_scenario_at_its_entry() -> None:
    h = Harness(ORDER)
    h.conv = Conversation(
        "acme", "c3", "support", "wa-main", scenario="refunds", step="renamed_away"
    )
    result = h.say("hi", slots={"order_id": "O-1"})
    assert result.entered[0] == "check_order"  # the entry's transition held at once
    assert "conversation.restarted" in [e.kind for e in h.state.events("acme")]


def test_every_backend_keeps_the_conversation_between_turns(tmp_path: Path) -> None:
    state = open_state(f"sqlite:///{tmp_path / 's.db'}")
    h = Harness(ORDER, state)  # type: ignore[arg-type]
    conv = state.save(h.conv, T0)
    assert conv is not None
    h.conv = conv
    h.say("refund", intent="refund", slots={"order_id": "O-1"})
    stored = state.save(h.conv, T0)
    assert stored is not None and stored.pending is not None
    assert state.load("acme", "c1") == stored
    state.close()


@pytest.mark.parametrize("chain", [3, 12])
def test_a_chain_stops_after_eight_steps(chain: int) -> None:
    from runtime.brain import MAX_CHAIN

    steps = [
        {"id": f"s{i}", "say": f"step {i}", "transitions": [{"to": f"s{i + 1}"}]}
        for i in range(chain)
    ] + [{"id": f"s{chain}", "say": "end", "terminal": True}]
    sid, raw = retail()
    import json

    body = json.loads(raw)
    body["scenarios"]["refunds"]["spec"]["steps"] = steps
    body["scenarios"]["refunds"]["spec"]["entry"] = {"step": "s0", "when": "intent == 'refund'"}
    h = Harness(ORDER)
    state = h.state
    h.brain = Brain(
        CompiledSnapshot(sid, json.dumps(body).encode()),
        ToolEffectRegistry(state, h.clock, {}),
        h.clock,
        state,
    )
    result = h.say("go", intent="refund")
    assert len(result.entered) == min(chain + 1, MAX_CHAIN)


def _renamed(tmp: Path, moved: bool) -> tuple[str, bytes]:
    """Retail with confirm_refund renamed confirm_payout (and, if ``moved``, declared so)."""
    import shutil

    bundle = tmp / "retail"
    shutil.copytree(
        REPO / "examples" / "retail", bundle, ignore=shutil.ignore_patterns("simulations")
    )
    path = bundle / "scenarios" / "refunds.yaml"
    text = path.read_text().replace("confirm_refund", "confirm_payout")
    if moved:
        text = text.replace(
            "  steps:\n", "  moved: [{from: confirm_refund, to: confirm_payout}]\n  steps:\n", 1
        )
    path.write_text(text)
    result = compile_paths([bundle])
    assert result.ok, [d.message for d in result.diagnostics]
    snap = result.snapshots["acme"]
    return snap.id, snap.raw


@pytest.mark.parametrize("moved", [True, False])
def test_a_renamed_step_moves_its_conversations_when_the_scenario_says_so(
    tmp_path: Path, moved: bool
) -> None:
    h = Harness(ORDER)
    h.say("refund O-1", intent="refund", slots={"order_id": "O-1"})
    assert h.conv.step == "confirm_refund" and h.conv.pending is not None
    sid, raw = _renamed(tmp_path, moved)
    h.brain = Brain(CompiledSnapshot(sid, raw), h.brain.registry, h.clock, h.state)
    result = h.say("yes", intent="confirm")
    kinds = [e.kind for e in h.state.events("acme")]
    if moved:  # the customer's yes still refunds
        assert "conversation.moved" in kinds and "conversation.restarted" not in kinds
        assert [c[0] for c in h.tools.calls] == ["lookup-order", "issue-refund"]
        assert result.replies[0] == "Your refund R-9 is on its way: 3-5 business days."
    else:  # without the move, the step is gone: the scenario starts again, nothing is paid
        assert "conversation.restarted" in kinds
        assert [c[0] for c in h.tools.calls] == ["lookup-order"]
