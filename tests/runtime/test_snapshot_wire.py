"""The runtime's fast load path (``load(keep="index")``) against the model path.

``load(keep="index")`` validates snapshot bodies into plain dicts with validators derived from
the spec models (``runtime.snapshot._wire``). It must accept exactly what ``SnapshotV1``
accepts, reject the rest with the same reason, and index to the same ``SettingsIndex``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import fields
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from focalctl.compile import compile_paths
from runtime.snapshot import (
    SettingsIndex,
    SnapshotError,
    SnapshotV1,
    canonical_bytes,
    load,
    snapshot_id,
)
from tests.conftest import REPO

from .helpers import corrupt


def load_index(raw: bytes, *args: Any, **kwargs: Any) -> Any:
    """The runtime's path: validated into dicts, reduced to the index as it goes."""
    return load(raw, *args, keep="index", **kwargs)


def load_model(raw: bytes, *args: Any, **kwargs: Any) -> Any:
    """The reference: the whole SnapshotV1 model, validated by pydantic."""
    return load(raw, *args, keep="model", **kwargs)


BUNDLES = ["examples/retail", "examples/clinic", "agents.d"]


@cache
def bundle_snapshots(bundle: str) -> dict[str, tuple[str, bytes]]:
    return {t: (s.id, s.raw) for t, s in compile_paths([REPO / bundle]).snapshots.items()}


def index_fields(index: SettingsIndex) -> str:
    """The index's fields, spelled out: equal only with the same keys in the same order and
    values of the same types (``0.0`` is not ``0`` here)."""
    return repr({f.name: getattr(index, f.name) for f in fields(index)})


def outcome(load: Callable[..., Any], raw: bytes, tenant: str | None = None) -> Any:
    """("ok", the index spelled out) or ("rejected", reason) for one loader."""
    try:
        loaded = load(raw, snapshot_id(raw), tenant=tenant)
    except SnapshotError as exc:
        return ("rejected", exc.reason)
    index = SettingsIndex.of(loaded.model) if hasattr(loaded, "model") else loaded.index
    return ("ok", index_fields(index))


# --- the bundles' snapshots ---------------------------------------------------------------


@pytest.mark.parametrize("bundle", BUNDLES)
def test_the_fast_path_indexes_the_bundles_exactly_like_the_model(bundle: str) -> None:
    snapshots = bundle_snapshots(bundle)
    assert snapshots
    for tenant, (sid, raw) in snapshots.items():
        fast = load_index(raw, sid, tenant=tenant)
        model = load_model(raw, sid, tenant=tenant)
        assert (fast.id, fast.tenant, fast.size) == (model.id, model.tenant, model.size)
        assert index_fields(fast.index) == index_fields(SettingsIndex.of(model.model))
        assert fast.index == SettingsIndex.of(model.model)


def test_a_synthetic_bundle_indexes_the_same(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from synth import write_bundle
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    snap = next(iter(compile_paths([write_bundle(tmp_path / "b", 100)]).snapshots.values()))
    fast = load_index(snap.raw, snap.id)
    model = SettingsIndex.of(load_model(snap.raw, snap.id).model)
    assert fast.index == model and index_fields(fast.index) == index_fields(model)


# --- rejections with their reason ---------------------------------------------------------


@pytest.mark.parametrize(
    "kind", ["truncated", "not_json", "digest_mismatch", "schema_invalid", "future_format"]
)
def test_bad_candidates_get_the_same_reason(kind: str) -> None:
    sid, raw = corrupt(kind)
    for loader in (load_model, load_index):
        with pytest.raises(SnapshotError) as exc:
            loader(raw, sid, tenant="demo")
        assert exc.value.reason == kind


def test_wrong_tenant_gets_the_same_reason() -> None:
    sid, raw = bundle_snapshots("agents.d")["demo"]
    for loader in (load_model, load_index):
        with pytest.raises(SnapshotError) as exc:
            loader(raw, sid, tenant="other")
        assert exc.value.reason == "wrong_tenant"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "truncated"),
        (b"[1, 2]", "schema_invalid"),
        (b'{"format": "focal.snapshot/v2"}', "future_format"),
        (b'{"format": "other/v1"}', "schema_invalid"),
        (b'{"format": "focal.snapshot/v1"', "truncated"),
        (b"\xff\xfe", "not_json"),
    ],
)
def test_odd_bytes_get_the_same_reason(raw: bytes, reason: str) -> None:
    assert outcome(load_model, raw) == outcome(load_index, raw) == ("rejected", reason)


# --- mutations: every constraint kind of runtime/spec.py ----------------------------------


@cache
def rich_body() -> dict[str, Any]:
    """The retail tenant with the clinic's quiet hours: every kind of object and constraint."""
    body = json.loads(bundle_snapshots("examples/retail")["acme"][1])
    clinic = json.loads(bundle_snapshots("examples/clinic")["northside-clinic"][1])
    body["tenant"]["spec"]["outbound"] = clinic["tenant"]["spec"]["outbound"]
    return body


FIRST = object()  # in a path: the first key of a mapping


def _resolve(body: dict[str, Any], path: tuple[Any, ...]) -> Any:
    node: Any = body
    for part in path:
        node = node[next(iter(node)) if part is FIRST else part]
    return node


Change = Callable[[dict[str, Any]], None]


def at(path: tuple[Any, ...], value: Any) -> Change:
    """Set the value at ``path`` (which must exist, but for its last key)."""

    def apply(body: dict[str, Any]) -> None:
        _resolve(body, path[:-1])[path[-1]] = value

    return apply


def drop(path: tuple[Any, ...]) -> Change:
    def apply(body: dict[str, Any]) -> None:
        parent = _resolve(body, path[:-1])
        assert path[-1] in parent, f"{path[-1]} is not there to drop"
        del parent[path[-1]]

    return apply


def add(path: tuple[Any, ...], key: str = "surprise", value: Any = 1) -> Change:
    def apply(body: dict[str, Any]) -> None:
        node = _resolve(body, path)
        assert isinstance(node, dict) and key not in node
        node[key] = value

    return apply


def both(*changes: Change) -> Change:
    def apply(body: dict[str, Any]) -> None:
        for change in changes:
            change(body)

    return apply


TENANT = ("tenant", "spec")
AGENT = ("agents", FIRST, "spec")
CHANNEL = ("channels", "wa-main")
SCENARIO = ("scenarios", "refunds", "spec")
STEP = (*SCENARIO, "steps", 0)
TOOL = ("tools", "issue-refund", "spec")
OFFER = ("offerings", "acme-plus-monthly", "spec")
GOAL = ("goals", FIRST, "spec")
QUIET = (*TENANT, "outbound", "quietHours")

MUTATIONS: dict[str, Change] = {
    # unknown keys, at every level (extra="forbid")
    "extra top": add(()),
    "extra tenant entry": add(("tenant",)),
    "extra tenant spec": add(TENANT),
    "extra rate limit": add((*TENANT, "rateLimit")),
    "extra outbound": add((*TENANT, "outbound")),
    "extra quiet hours": add(QUIET),
    "extra settings": add((*TENANT, "defaults")),
    "extra llm": add((*TENANT, "defaults", "llm")),
    "extra turn": add((*TENANT, "defaults", "turn")),
    "extra agent entry": add(("agents", FIRST)),
    "extra agent spec": add(AGENT),
    "extra channel entry": add(CHANNEL),
    "extra builtin turn": add((*CHANNEL, "builtinTurn")),
    "extra capabilities": add((*CHANNEL, "spec", "capabilities")),
    "extra channel format": add((*CHANNEL, "spec", "format")),
    "extra channel rate limit": add((*CHANNEL, "spec", "rateLimit")),
    "extra scenario spec": add(SCENARIO),
    "extra scenario entry step": add((*SCENARIO, "entry")),
    "extra step": add(STEP),
    "extra transition": add((*STEP, "transitions", 0)),
    "extra tool spec": add(TOOL),
    "extra gateway": add((*TOOL, "gateway")),
    "extra auth": add((*TOOL, "gateway", "auth")),
    "extra confirmation": add((*TOOL, "confirmation")),
    "extra offering": add(OFFER),
    "extra price": add((*OFFER, "price")),
    "extra faq": add((*OFFER, "faq", 0)),
    "extra goal": add(GOAL),
    "extra trigger": add((*GOAL, "trigger")),
    "alias and name both given": add((*TENANT, "defaults", "llm"), "max_tokens", 5),
    # missing required fields
    "no format": drop(("format",)),
    "no defaults": drop(("defaults",)),
    "no tenant name": drop(("tenant", "name")),
    "no tenant spec": drop(("tenant", "spec")),
    "no builtin turn": drop((*CHANNEL, "builtinTurn")),
    "no channel type": drop((*CHANNEL, "spec", "channel")),
    "no scenario entry": drop((*SCENARIO, "entry")),
    "no step id": drop((*STEP, "id")),
    "no transition target": drop((*STEP, "transitions", 0, "to")),
    "no tool effect": drop((*TOOL, "effect")),
    "no gateway endpoint": drop((*TOOL, "gateway", "endpoint")),
    "no secret ref": drop((*TOOL, "gateway", "auth", "secretRef")),
    "no display name": drop((*OFFER, "displayName")),
    "no currency": drop((*OFFER, "price", "currency")),
    "no amount": drop((*OFFER, "price", "amount")),
    "no faq answer": drop((*OFFER, "faq", 0, "a")),
    "no goal message": drop((*GOAL, "message")),
    "no trigger scenario": drop((*GOAL, "trigger", "scenario")),
    "no per minute": drop((*TENANT, "rateLimit", "perMinute")),
    "no time zone": drop((*QUIET, "timezone")),
    "no checkpoint description": at((*STEP, "checkpoint"), {}),
    # wrong types
    "format not a string": at(("format",), 1),
    "tenant name not a string": at(("tenant", "name"), 7),
    "defaults not a mapping": at(("defaults",), []),
    "agents not a mapping": at(("agents",), []),
    "labels not strings": at(("agents", FIRST, "labels"), {"team": 1}),
    "description not a string": at(("agents", FIRST, "description"), 3),
    "enabled not a bool": at((*AGENT, "enabled"), "maybe"),
    "channels not a list": at((*AGENT, "channels"), "wa-main"),
    "catalog values not strings": at((*AGENT, "catalog"), {"x": 1}),
    "settings not a mapping": at((*AGENT, "settings"), "warm"),
    "max tokens a fraction": at((*TENANT, "defaults", "llm", "maxTokens"), 700.5),
    "temperature a word": at((*TENANT, "defaults", "llm", "temperature"), "hot"),
    "priority a word": at((*STEP, "transitions", 0, "priority"), "high"),
    "terminal a word": at((*STEP, "terminal"), "maybe"),
    "args not a mapping": at((*SCENARIO, "steps", 1, "tools", 0, "args"), []),
    "attributes value a list": at((*OFFER, "attributes"), {"x": [1]}),
    "max attempts a fraction": at((*GOAL, "maxAttempts"), 2.5),
    "require consent a word": at((*TENANT, "outbound", "requireConsent"), "perhaps"),
    "idempotency key not strings": at((*TOOL, "idempotencyKey"), [1]),
    "steps not a list": at((*SCENARIO, "steps"), {}),
    # numeric ranges
    "temperature 3": at((*TENANT, "defaults", "llm", "temperature"), 3),
    "temperature below 0": at((*TENANT, "defaults", "llm", "temperature"), -0.1),
    "max tokens 0": at((*TENANT, "defaults", "llm", "maxTokens"), 0),
    "max tokens too many": at((*TENANT, "defaults", "llm", "maxTokens"), 200_001),
    "max burst 0": at((*TENANT, "defaults", "turn", "maxBurst"), 0),
    "max burst 51": at((*TENANT, "defaults", "turn", "maxBurst"), 51),
    "priority 101": at((*STEP, "transitions", 0, "priority"), 101),
    "priority -101": at((*STEP, "transitions", 0, "priority"), -101),
    "max attempts 0": at((*GOAL, "maxAttempts"), 0),
    "max attempts 21": at((*GOAL, "maxAttempts"), 21),
    "per minute 0": at((*TENANT, "rateLimit", "perMinute"), 0),
    "burst 0": at((*TENANT, "rateLimit", "burst"), 0),
    "channel per minute 0": at((*CHANNEL, "spec", "rateLimit", "perMinute"), 0),
    "max message length 0": at((*CHANNEL, "spec", "capabilities", "maxMessageLength"), 0),
    # durations
    "timeout 10x": at((*TOOL, "timeout"), "10x"),
    "timeout empty": at((*TOOL, "timeout"), ""),
    "timeout a number": at((*TOOL, "timeout"), 10),
    "after 1h30": at((*GOAL, "after"), "1h30"),
    "retry after negative": at((*GOAL, "retryAfter"), "-1h"),
    "expires after spaced units": at((*GOAL, "expiresAfter"), "7 d"),
    "debounce 5s": at((*CHANNEL, "builtinTurn", "debounce"), "5s"),
    "debounce 100ms": at((*CHANNEL, "builtinTurn", "debounce"), "100ms"),
    "debounce 3001ms": at((*CHANNEL, "builtinTurn", "debounce"), "3001ms"),
    "debounce 4s": at((*CHANNEL, "spec", "settings"), {"turn": {"debounce": "4s"}}),
    "profile turn moved": at((*CHANNEL, "spec", "turn"), {"debounce": "800ms"}),
    "debounce 1x": at((*TENANT, "defaults", "turn"), {"debounce": "1x"}),
    # patterns
    "agent channel name": at((*AGENT, "channels"), ["Bad_Name"]),
    "agent tool name": at((*AGENT, "tools"), ["x" * 64]),
    "step id": at((*STEP, "id"), "Bad"),
    "entry step": at((*SCENARIO, "entry", "step"), ""),
    "transition target": at((*STEP, "transitions", 0, "to"), "1abc"),
    "collects slot": at((*STEP, "collects"), ["x y"]),
    "binding tool": at((*SCENARIO, "steps", 1, "tools", 0, "tool"), "UPPER"),
    "binding save as": at((*SCENARIO, "steps", 1, "tools", 0, "saveAs"), "bad-slot"),
    "binding depends on": at((*SCENARIO, "steps", 1, "tools", 0, "dependsOn"), ["-x"]),
    "language": at((*TENANT, "defaults", "language"), "english1"),
    "currency": at((*OFFER, "price", "currency"), "eur"),
    "secret ref": at((*TOOL, "gateway", "auth", "secretRef"), "lower"),
    "compensation": at((*TOOL, "compensation"), "Nope!"),
    "goal agent": at((*GOAL, "agent"), "a" * 64),
    "offering channel": at((*OFFER, "channels"), ["web chat"]),
    "fallback": at((*CHANNEL, "spec", "fallback"), ["sms_main"]),
    "trigger step": at((*GOAL, "trigger", "reachedStep"), "Done"),
    "name with a newline": at((*AGENT, "channels"), ["wa-main\n"]),
    # literals
    "tier": at((*TENANT, "tier"), "gold"),
    "tenant channel type": at((*TENANT, "channels"), ["fax"]),
    "channel type": at((*CHANNEL, "spec", "channel"), "fax"),
    "cancel in flight": at((*TENANT, "defaults", "turn", "cancelInFlight"), "always"),
    "binding at": at((*SCENARIO, "steps", 1, "tools", 0, "at"), "later"),
    "typed slot range": at(
        (*STEP, "collects"), [{"name": "n", "type": "integer", "min": 3, "max": 1}]
    ),
    "gateway type": at((*TOOL, "gateway", "type"), "ftp"),
    "effect": at((*TOOL, "effect"), "magic"),
    "split": at((*CHANNEL, "spec", "format", "split"), "wrap"),
    "offering type": at((*OFFER, "type"), "gift"),
    "price period": at((*OFFER, "price", "period"), "week"),
    "goal action": at((*GOAL, "action"), "call"),
    # model validator
    "trigger with both steps": at((*GOAL, "trigger", "leftWithoutStep"), "ask_order"),
    "trigger with neither step": drop((*GOAL, "trigger", "reachedStep")),
    "trigger with both, one by name": at((*GOAL, "trigger", "left_without_step"), "ask_order"),
    # field validators
    "parameters without type object": at((*TOOL, "parameters"), {"properties": {}}),
    "parameters of type array": at((*TOOL, "parameters"), {"type": "array"}),
    "parameters properties a list": at((*TOOL, "parameters"), {"type": "object", "properties": []}),
    "parameters required not names": at(
        (*TOOL, "parameters"), {"type": "object", "properties": {}, "required": [1]}
    ),
    "quiet hours start 25:00": at((*QUIET, "start"), "25:00"),
    "quiet hours end 8:30": at((*QUIET, "end"), "8:30"),
    "quiet hours bad zone": at((*QUIET, "timezone"), "Mars/Olympus_Mons"),
    "quiet hours empty zone": at((*QUIET, "timezone"), ""),
    # amounts
    "negative amount": at((*OFFER, "price", "amount"), "-1"),
    "negative number amount": at((*OFFER, "price", "amount"), -0.5),
    "amount a word": at((*OFFER, "price", "amount"), "lots"),
    "amount a bool": at((*OFFER, "price", "amount"), True),
    "amount null": at((*OFFER, "price", "amount"), None),
    "amount NaN": at((*OFFER, "price", "amount"), "NaN"),
    "amount infinite": at((*OFFER, "price", "amount"), "Infinity"),
    # several at once
    "two errors": both(at((*GOAL, "maxAttempts"), 0), add(TENANT)),
}


def mutated(change: Change) -> bytes:
    body = copy.deepcopy(rich_body())
    change(body)
    return canonical_bytes(body)


def test_the_rich_body_is_valid_for_both() -> None:
    raw = canonical_bytes(rich_body())
    fast, model = outcome(load_index, raw), outcome(load_model, raw)
    assert fast[0] == "ok" and fast == model


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_every_mutation_is_rejected_by_both(name: str) -> None:
    raw = mutated(MUTATIONS[name])
    with pytest.raises(ValidationError):
        SnapshotV1.model_validate_json(raw)
    assert outcome(load_model, raw) == ("rejected", "schema_invalid")
    assert outcome(load_index, raw) == ("rejected", "schema_invalid")


# --- accepted variants: what the models accept beyond the compiler's output ---------------

ACCEPTED: dict[str, Change] = {
    "python names for aliases": both(
        drop((*TENANT, "defaults", "llm", "maxTokens")),
        add((*TENANT, "defaults", "llm"), "max_tokens", 5),
        drop((*CHANNEL, "builtinTurn")),
        add(CHANNEL, "builtin_turn", {"debounce": "600ms", "max_burst": 3}),
    ),
    "explicit nulls": both(
        at((*AGENT, "settings"), {"llm": None, "turn": {"debounce": None}, "persona": None}),
        at((*TENANT, "defaults", "language"), None),
        at((*STEP, "settings"), None),
    ),
    "optional fields left out": both(drop((*AGENT, "channels")), drop((*AGENT, "settings"))),
    "numbers as strings": at((*TENANT, "defaults", "turn", "maxBurst"), "5"),
    "temperature an integer": at((*TENANT, "defaults", "llm", "temperature"), 1),
    "durations with space": at((*TOOL, "timeout"), " 15s "),
    "durations in other digits": at((*TOOL, "timeout"), "\u0661\u0665s"),
    "debounce in two units": at((*CHANNEL, "builtinTurn", "debounce"), "1s200ms"),
    "debounce 0ms": at((*CHANNEL, "builtinTurn", "debounce"), "0ms"),
    "debounce with space": at((*CHANNEL, "spec", "settings"), {"turn": {"debounce": "800ms\n"}}),
    "amount a number": at((*OFFER, "price", "amount"), 10.5),
    "amount not canonical": at((*OFFER, "price", "amount"), "010.50"),
    "amount with exponent": at((*OFFER, "price", "amount"), "1E+2"),
    "trigger on leaving": both(
        drop((*GOAL, "trigger", "reachedStep")),
        add((*GOAL, "trigger"), "leftWithoutStep", "ask_order"),
    ),
    "float settings": at((*AGENT, "settings"), {"llm": {"temperature": 1e-7}}),
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_accepted_variants_are_accepted_by_both_and_index_the_same(name: str) -> None:
    raw = mutated(ACCEPTED[name])
    model = outcome(load_model, raw)
    assert model[0] == "ok"
    assert outcome(load_index, raw) == model


# --- random mutations: both loaders always agree ------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-300, 300_000)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(
        [
            "",
            "0",
            "10s",
            "5s",
            "800ms",
            "1h30m",
            "10x",
            "order_id",
            "wa-main",
            "Bad",
            "EUR",
            "-1",
            "1.50",
            "object",
            "during",
            "safe",
            "whatsapp",
            "Europe/Paris",
            "21:00",
            "en-GB",
        ]
    )
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


@cache
def all_paths() -> list[tuple[Any, ...]]:
    return _paths(rich_body())[1:]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(
            st.integers(0, 10**6),
            st.sampled_from(["replace", "drop", "add"]),
            JSON_VALUES,
            st.sampled_from(["surprise", "maxTokens", "max_tokens", "debounce", "when"]),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_random_mutations_get_the_same_outcome(edits: list[tuple[int, str, Any, str]]) -> None:
    body = copy.deepcopy(rich_body())
    paths = all_paths()
    for pick, op, value, key in edits:
        path = paths[pick % len(paths)]
        try:
            parent = _resolve(body, path[:-1])
            last = path[-1]
            if op == "replace":
                parent[last] = value
            elif op == "drop" and isinstance(parent, dict):
                del parent[last]
            elif op == "add" and isinstance(parent[last], dict):
                parent[last][key] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced this path
    raw = canonical_bytes(body)
    assert outcome(load_index, raw) == outcome(load_model, raw)
