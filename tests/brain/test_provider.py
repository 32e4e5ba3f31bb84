"""The OpenAI-compatible provider against a real local HTTP server: intent and slots asked
for as JSON, fallbacks on timeouts and malformed answers, the key never in an error; and the
turn service using it for messages that carry no intent or slots."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from runtime.conversations import TurnRequest, TurnService
from runtime.ports import SimulatedClock
from runtime.ports.memory import MemoryState
from runtime.providers import OpenAIChatProvider
from runtime.registry import SnapshotRegistry

from .test_engine import T0, FakeTools, retail

KEY = "sk-test-not-a-real-key-123456"


class _Model(http.server.BaseHTTPRequestHandler):
    answer: Any = {"intent": "refund", "slots": {"order_id": "O-1", "other": "x"}}
    seen: list[tuple[dict[str, Any], str | None]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Model.seen.append((body, self.headers.get("Authorization")))
        if _Model.answer == "slow":
            threading.Event().wait(1.0)
        content = _Model.answer if isinstance(_Model.answer, str) else json.dumps(_Model.answer)
        payload = json.dumps({"choices": [{"message": {"content": content}}]}).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except BrokenPipeError:
            pass

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def model_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Model)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Model.seen.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_intent_and_slots_come_back_filtered_to_the_vocabulary(model_url: str) -> None:
    _Model.answer = {"intent": "refund", "slots": {"order_id": "O-1", "other": "x"}}
    provider = OpenAIChatProvider(model_url, environ={"FOCAL_LLM_API_KEY": KEY})
    found = provider.understand(
        "refund O-1 please",
        intents=["confirm", "refund"],
        slots=["order_id"],
        llm={"model": "small", "temperature": 0.1, "maxTokens": 64},
    )
    assert (found.intent, found.slots, found.source) == ("refund", {"order_id": "O-1"}, "llm")
    body, auth = _Model.seen[-1]
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("small", 0.1, 64)
    assert auth == f"Bearer {KEY}"
    _Model.answer = {"intent": "launch_rockets", "slots": []}
    assert provider.understand("x", intents=["refund"], slots=[], llm={}).intent is None


@pytest.mark.parametrize("answer", ["not json at all", "[1, 2]", "slow"])
def test_a_bad_or_slow_answer_falls_back_and_says_why(model_url: str, answer: str) -> None:
    _Model.answer = answer
    provider = OpenAIChatProvider(model_url, timeout=0.3, environ={"FOCAL_LLM_API_KEY": KEY})
    found = provider.understand("x", intents=["refund"], slots=["order_id"], llm={})
    assert found.source == "fallback" and found.intent is None and found.slots == {}
    assert found.error and KEY not in found.error


def test_the_turn_service_asks_the_provider_only_for_unlabelled_messages(model_url: str) -> None:
    _Model.answer = {"intent": "refund", "slots": {"order_id": "O-1"}}
    reg = SnapshotRegistry()
    sid, raw = retail()
    reg.offer("acme", "dev", 1, sid, raw, "test")
    state, tools = (
        MemoryState(),
        FakeTools({"lookup-order": {"status": "delivered", "total": 42.0}}),
    )
    service = TurnService(
        reg,
        state,
        SimulatedClock(T0),
        {"http": tools},
        provider=OpenAIChatProvider(model_url, environ={}),
    )
    first = service.handle(TurnRequest("acme", "support", "wa-main", "c1", "m1", "refund O-1"))
    assert first.result is not None and first.result.entered[-1] == "confirm_refund"
    asked = _Model.seen[-1][0]["messages"][0]["content"]
    assert '"refund"' in asked and '"order_id"' in asked
    count = len(_Model.seen)
    service.handle(TurnRequest("acme", "support", "wa-main", "c1", "m2", "yes", intent="confirm"))
    assert len(_Model.seen) == count, "a labelled message is not sent to the model"
    assert "provider.understood" in [e.kind for e in state.events("acme")]
