"""The registry: atomic swap, forward-only versions, last-known-good, many tenants."""

from __future__ import annotations

import pytest

from runtime.errors import Reason
from runtime.registry import SnapshotRegistry

from .helpers import corrupt, release


def offer(reg: SnapshotRegistry, n: int, tenant: str = "demo"):  # type: ignore[no-untyped-def]
    sid, raw = release(n, tenant)
    return reg.offer(tenant, "dev", n, sid, raw, "test")


def test_versions_only_move_forward() -> None:
    reg = SnapshotRegistry()
    assert offer(reg, 2) is not None
    assert offer(reg, 2) is None  # duplicate
    assert offer(reg, 1) is None  # out of order
    assert reg.version("demo") == 2
    assert offer(reg, 5) is not None and reg.version("demo") == 5


@pytest.mark.parametrize(
    "kind", ["truncated", "not_json", "digest_mismatch", "schema_invalid", "future_format"]
)
def test_bad_candidates_are_rejected_and_the_old_one_serves(kind: str) -> None:
    reg = SnapshotRegistry()
    offer(reg, 1)
    before = reg.get("demo")
    sid, raw = corrupt(kind)
    assert reg.offer("demo", "dev", 2, sid, raw, "test") is None
    assert reg.get("demo") is before
    rejected = reg.last_rejected("demo")
    assert rejected is not None and rejected.reason == kind and rejected.version == 2


def test_wrong_tenant_is_rejected() -> None:
    reg = SnapshotRegistry()
    sid, raw = release(1, "other")
    assert reg.offer("demo", "dev", 1, sid, raw, "test") is None
    assert reg.last_rejected("demo").reason == "wrong_tenant"  # type: ignore[union-attr]


def test_a_stale_snapshot_is_replaced_by_the_same_version_fresh() -> None:
    reg = SnapshotRegistry()
    sid, raw = release(3)
    reg.offer("demo", "dev", 3, sid, raw, "cache", stale=True)
    assert reg.get("demo").stale  # type: ignore[union-attr]
    reg.offer("demo", "dev", 3, sid, raw, "redis")
    assert not reg.get("demo").stale  # type: ignore[union-attr]


def test_a_release_of_one_tenant_touches_only_that_one() -> None:
    reg = SnapshotRegistry()
    for i in range(100):
        offer(reg, 1, f"t{i:03d}")
    before = {t: reg.get(t) for t in reg.tenants()}
    assert len(before) == 100
    offer(reg, 2, "t042")
    after = {t: reg.get(t) for t in reg.tenants()}
    changed = [t for t in after if after[t] is not before[t]]
    assert changed == ["t042"] and reg.version("t042") == 2


def test_effective_settings_resolve_from_the_snapshot() -> None:
    reg = SnapshotRegistry()
    active = offer(reg, 1)
    eff = active.effective("concierge", "order-status", "ask_order", "sms")
    assert (
        eff["settings"]["turn"]["debounce"] == "800ms"
        and eff["levels"]["turn.debounce"] == "channel"
    )
    with pytest.raises(KeyError):
        active.effective("nobody", None, None, None)


def test_a_candidate_is_counted_once_and_its_rejection_clears_when_replaced() -> None:
    reg = SnapshotRegistry()
    events: list[str] = []
    reg.listeners.append(lambda t, a, r, s: events.append(r.reason if r else "loaded"))
    offer(reg, 1)
    sid, raw = corrupt("schema_invalid")
    for _ in range(3):  # three rescans of the same bad candidate
        if reg.note_pointer("demo", 2, sid):
            reg.offer("demo", "dev", 2, sid, raw, "test")
    assert events == ["loaded", "schema_invalid"]
    assert reg.status("demo") == "degraded"
    assert not reg.note_pointer("demo", 2, sid), "a permanent failure is not read again"
    assert not reg.note_pointer("demo", 1, reg.get("demo").id)  # type: ignore[union-attr]
    assert reg.last_rejected("demo") is None and reg.status("demo") == "ok"


def test_rejections_of_tenants_without_a_pointer_are_dropped() -> None:
    reg = SnapshotRegistry()
    reg.reject("a", "-", Reason.BAD_POINTER, "x")
    reg.reject("b", "-", Reason.BAD_POINTER, "x")
    reg.keep_rejections({"b"})
    assert reg.rejected_tenants() == ["b"] and reg.status("b") == "unavailable"
    reg.clear_rejection("b")
    assert reg.rejected_tenants() == []


def test_a_failing_listener_neither_blocks_nor_undoes_a_swap() -> None:
    reg = SnapshotRegistry()

    def broken(*_: object) -> None:
        raise RuntimeError("metrics exploded")

    reg.listeners.append(broken)
    assert offer(reg, 1) is not None and reg.version("demo") == 1


def test_an_unexpected_error_while_loading_is_a_load_error_rejection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reg = SnapshotRegistry()
    offer(reg, 1)

    def boom(*_: object, **__: object) -> None:
        raise RecursionError("deep")

    monkeypatch.setattr("runtime.registry.load", boom)
    assert offer(reg, 2) is None and reg.version("demo") == 1
    assert reg.last_rejected("demo").reason == Reason.LOAD_ERROR  # type: ignore[union-attr]


def test_every_reason_says_what_it_means_and_what_to_do() -> None:
    for reason in Reason:
        assert reason.meaning and reason.fix
