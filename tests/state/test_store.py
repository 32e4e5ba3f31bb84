"""The store on SQLite and PostgreSQL: migrations, releases, locks, corruption."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from focalctl.store import CorruptSnapshot, LockHeld, StoreError, open_store
from focalctl.store.migrations import SCHEMA_VERSION
from runtime.snapshot import snapshot_id

RAW = b'{"format":"focal.snapshot/v1"}'


def _put(store, raw: bytes = RAW, tenant: str = "t") -> str:  # type: ignore[no-untyped-def]
    sid = snapshot_id(raw)
    with store.tx() as conn:
        store.put_snapshot(
            conn,
            id=sid,
            tenant=tenant,
            raw=raw,
            compiler_version="x",
            source_digest="d",
            provenance={},
        )
    return sid


def test_migrations_are_recorded_and_idempotent(store_url: str) -> None:
    store = open_store(store_url)
    store.close()
    store = open_store(store_url)
    with store.tx() as conn:
        version = conn.execute(sa.text("SELECT version FROM focal_schema_version")).scalar_one()
    assert version == SCHEMA_VERSION


def test_a_newer_schema_is_refused(store_url: str) -> None:
    store = open_store(store_url)
    with store.tx() as conn:
        conn.execute(sa.text("UPDATE focal_schema_version SET version = 99"))
    with pytest.raises(StoreError, match="newer than this focalctl"):
        open_store(store_url)


def test_releases_are_monotonic_and_pending_is_invisible(store_url: str) -> None:
    store = open_store(store_url)
    sid = _put(store)
    for expected in (1, 2, 3):
        with store.tx() as conn:
            rel = store.add_release(
                conn, tenant="t", env="dev", snapshot_id=sid, kind="apply", message=""
            )
            assert rel.version == expected and rel.status == "pending"
        assert store.active("t", "dev") is None or store.active("t", "dev").version == expected - 1  # type: ignore[union-attr]
        with store.tx() as conn:
            store.mark_published("t", "dev", expected, conn=conn)
        assert store.active("t", "dev").version == expected  # type: ignore[union-attr]
    assert [r.version for r in store.history("t", "dev")] == [1, 2, 3]
    assert store.active("t", "prod") is None  # environments are independent


def test_lock_names_its_holder_and_expires(store_url: str) -> None:
    store = open_store(store_url)
    lock = store.acquire("t", "dev", holder="alice@ci pid 1")
    with pytest.raises(LockHeld, match="alice@ci pid 1") as info:
        store.acquire("t", "dev")
    assert info.value.lock_id == lock
    held = store.held_lock("t", "dev")
    assert held is not None
    assert (held.tenant, held.env, held.lock_id, held.holder) == (
        "t",
        "dev",
        lock,
        "alice@ci pid 1",
    )
    assert held.acquired_at < held.expires_at and held.expires_at.tzinfo is not None
    store.unlock("t", "dev", lock)
    assert store.held_lock("t", "dev") is None
    short = store.acquire("t", "dev", ttl=timedelta(seconds=-1))  # already expired
    taken = store.acquire("t", "dev")
    assert taken != short
    assert store.force_unlock(taken)[0:2] == ("t", "dev")
    with pytest.raises(StoreError, match="no lock with id"):
        store.force_unlock(taken)


def test_corrupt_snapshot_row_is_detected_never_served(store_url: str) -> None:
    store = open_store(store_url)
    sid = _put(store)
    with store.tx() as conn:
        conn.execute(
            sa.text("UPDATE focal_snapshots SET body = :b WHERE id = :i"),
            {"b": RAW.replace(b"v1", b"v9"), "i": sid},
        )
    with pytest.raises(CorruptSnapshot, match="corrupt"):
        store.get_snapshot(sid)


def test_put_refuses_bytes_that_do_not_match_the_id(store_url: str) -> None:
    store = open_store(store_url)
    with store.tx() as conn, pytest.raises(CorruptSnapshot):
        store.put_snapshot(
            conn,
            id=snapshot_id(b"other"),
            tenant="t",
            raw=RAW,
            compiler_version="x",
            source_digest="d",
            provenance={},
        )


def test_unreachable_store_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="cannot open the store"):
        open_store("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
