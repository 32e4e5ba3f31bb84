"""Built-in tools: `gateway: {type: builtin, endpoint: offerings.search}` ranks the agent's
catalog on the turn's channel inside the runtime (no gateway, no idempotency record), lands in
`saveAs`, and is audited as every call; the compiler accepts only known, pure built-ins."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from runtime.brain import engine
from runtime.spec import BUILTIN_TOOLS, ToolEffectSpec

from .test_engine import Harness


def test_every_builtin_the_compiler_accepts_is_one_the_runtime_runs() -> None:
    assert set(BUILTIN_TOOLS) == set(engine._BUILTINS)


def test_a_step_binds_the_catalog_search_and_says_what_it_found() -> None:
    h = Harness({})
    done = h.say("a waterproof rain jacket with a hood?", intent="product_question")
    assert done.entered == ["answer"]
    assert done.replies == ["You might like the Alpine Shell jacket (289.00 EUR)."]
    [report] = done.tools
    assert (report.tool, report.status, report.builtin) == ("find-products", "executed", True)
    assert report.args == {"query": "a waterproof rain jacket with a hood?", "limit": 3}
    assert report.to_json()["builtin"] is True
    assert h.tools.calls == [], "no gateway is called"
    assert h.state.lookup("acme", "find-products") is None
    events = [(e.kind, e.data) for e in h.state.events("acme") if e.kind.startswith("tool.")]
    assert events == [
        ("tool.call", {"tool": "find-products", "builtin": "offerings.search", "effect": "pure"}),
        ("tool.result", {"tool": "find-products", "builtin": "offerings.search"}),
    ]


def test_nothing_found_is_an_empty_result_the_step_can_test() -> None:
    h = Harness({})
    done = h.say("do you have kayaks?", intent="product_question")
    assert done.replies == [
        "I could not find that in our catalog; could you describe it differently?"
    ]
    assert h.conv.slots["found"] == {"query": "do you have kayaks?", "results": [], "top": None}


def test_bad_args_fail_the_call_not_the_turn() -> None:
    h = Harness({})
    turn = engine._Turn.__new__(engine._Turn)  # only the arg checks run before any search
    with pytest.raises(ValueError, match=r"args\.limit must be a whole number from 1 to 20"):
        engine._search_offerings(turn, {"query": "tent", "limit": 0})
    with pytest.raises(ValueError, match=r"args\.query must be the text"):
        engine._search_offerings(turn, {"limit": 2})
    assert h.tools.calls == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"effect": "pure", "gateway": {"type": "builtin", "endpoint": "offerings.find"}},
            "'offerings.find' is not a built-in tool (built-ins: offerings.search)",
        ),
        (
            {
                "effect": "idempotent",
                "gateway": {"type": "builtin", "endpoint": "offerings.search"},
            },
            "a built-in tool only reads the snapshot: its effect is pure, not idempotent",
        ),
        (
            {
                "effect": "pure",
                "gateway": {
                    "type": "builtin",
                    "endpoint": "offerings.search",
                    "auth": {"secretRef": "X"},
                },
            },
            "a built-in tool runs inside the runtime: remove its auth",
        ),
    ],
)
def test_the_compiler_refuses_unknown_impure_or_authenticated_builtins(
    spec: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ToolEffectSpec.model_validate(spec)
