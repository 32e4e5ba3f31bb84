"""Fault injection: an exception at every stage of both sources never stops reloads.

Each case runs a real source (a watched directory, or a real Redis under its own key prefix)
in its supervisor, makes one stage raise while a release is published, and checks that the
source stays alive, that the candidate is rejected with a reason (or, for stages after the
swap, still served), and that the next release loads once the fault is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from focalctl.publish import FileTarget, RedisTarget
from runtime import registry as registry_module
from runtime.cache import LocalCache
from runtime.layout import Pointer, redis_channel
from runtime.registry import SnapshotRegistry
from runtime.sources import FileSource, RedisSource, SourceHealth, supervise
from runtime.sources import file as file_module

from .helpers import release

RESYNC = 0.2


class Fault:
    """A switch that makes a stage raise while it is on."""

    def __init__(self, exc: type[BaseException]) -> None:
        self.exc = exc
        self.on = False
        self.hits = 0

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """The publisher shares stages with the sources (``Pointer.from_json``)."""
        on, self.on = self.on, False
        try:
            yield
        finally:
            self.on = on

    def check(self) -> None:
        if self.on:
            self.hits += 1
            raise self.exc("injected fault")


class FaultyPath(type(Path())):  # type: ignore[misc]
    """A source root whose directory listing and file reads can be made to fail."""

    fault: Fault | None = None
    stage = ""

    def glob(self, pattern: str, *args: Any, **kwargs: Any) -> Any:
        if FaultyPath.stage == "list" and FaultyPath.fault:
            FaultyPath.fault.check()
        return super().glob(pattern, *args, **kwargs)

    def read_bytes(self) -> bytes:
        kind = "read-pointer" if self.name == "current.json" else "read-snapshot"
        if FaultyPath.stage == kind and FaultyPath.fault:
            FaultyPath.fault.check()
        return bytes(super().read_bytes())


def _patch_stage(
    monkeypatch: pytest.MonkeyPatch, stage: str, fault: Fault, reg: SnapshotRegistry
) -> None:
    """Make ``stage`` call ``fault.check()`` first (stages shared by both sources)."""
    if stage == "listener":
        reg.listeners.append(lambda *_: fault.check())

    def wrap(owner: Any, name: str) -> None:
        original = getattr(owner, name)

        def faulty(*args: Any, **kwargs: Any) -> Any:
            fault.check()
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, faulty)

    if stage == "parse-pointer":
        original = Pointer.from_json.__func__  # type: ignore[attr-defined]

        def from_json(cls: type[Pointer], raw: bytes | str) -> Pointer:
            fault.check()
            return original(cls, raw)  # type: ignore[no-any-return]

        monkeypatch.setattr(Pointer, "from_json", classmethod(from_json))
    elif stage == "note_pointer":
        wrap(SnapshotRegistry, "note_pointer")
    elif stage == "validate":
        wrap(registry_module, "load")
    elif stage == "warm":
        warm = SnapshotRegistry._warm

        def faulty_warm(active: Any) -> None:
            fault.check()
            warm(active)

        monkeypatch.setattr(SnapshotRegistry, "_warm", staticmethod(faulty_warm))
    elif stage == "cache":
        wrap(LocalCache, "save")


def _run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coro, timeout=30))


async def _until(check: Callable[[], bool], timeout: float = 8.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def _publisher(target: FileTarget | RedisTarget, fault: Fault) -> Callable[[int], None]:
    def publish(n: int) -> None:
        sid, raw = release(n)
        with fault.paused():
            target.publish(Pointer("demo", "dev", n, sid), raw)

    return publish


async def _exercise(
    reg: SnapshotRegistry,
    source: FileSource | RedisSource,
    publish: Callable[[int], None],
    fault: Fault,
    stage: str,
) -> None:
    health = SourceHealth(source.name)
    task = asyncio.create_task(supervise(source, health, first_delay=0.05, max_delay=0.2))
    try:
        await _until(lambda: reg.version("demo") == 1)
        fault.on = True
        publish(2)
        await _until(lambda: fault.hits > 0)
        await asyncio.sleep(3 * RESYNC)  # several rescans while the stage keeps failing
        assert not task.done(), "the supervisor itself must never end"
        rejected = reg.last_rejected("demo")
        if reg.version("demo") == 1 and stage not in {"list", "watch", "scan"}:
            assert rejected is not None and rejected.reason, "a blocked candidate says why"
        fault.on = False
        publish(3)
        await _until(lambda: reg.version("demo") == 3)
        assert reg.last_rejected("demo") is None, "a good load clears the rejection"
        if stage in {"watch", "scan"}:
            assert health.restarts > 0, "a loop that died is restarted and counted"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


FILE_STAGES = [
    ("list", OSError),
    ("read-pointer", RecursionError),
    ("parse-pointer", RecursionError),
    ("note_pointer", KeyError),
    ("read-snapshot", MemoryError),
    ("validate", RecursionError),
    ("warm", RuntimeError),
    ("cache", RuntimeError),
    ("listener", RecursionError),
    ("watch", RuntimeError),
]


@pytest.mark.parametrize(("stage", "exc"), FILE_STAGES, ids=[s for s, _ in FILE_STAGES])
def test_file_source_survives_a_fault_at(
    stage: str, exc: type[BaseException], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fault = Fault(exc)
    root = FaultyPath(tmp_path / "live")
    target = FileTarget(tmp_path / "live")
    reg = SnapshotRegistry()

    publish = _publisher(target, fault)
    publish(1)
    monkeypatch.setattr(FaultyPath, "fault", fault)
    monkeypatch.setattr(FaultyPath, "stage", stage)
    _patch_stage(monkeypatch, stage, fault, reg)
    if stage == "watch":
        # inotify and then polling both fail: the loop ends and the supervisor restarts it
        original = file_module.awatch

        async def awatch(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            async for changes in original(*args, **kwargs):
                fault.check()
                yield changes

        monkeypatch.setattr(file_module, "awatch", awatch)
    source = FileSource(root, "dev", reg, LocalCache(tmp_path / "cache"), resync_interval=RESYNC)
    _run(_exercise(reg, source, publish, fault, stage))


REDIS_STAGES = [
    ("get", RecursionError),
    ("parse-pointer", RecursionError),
    ("note_pointer", KeyError),
    ("validate", RecursionError),
    ("warm", RuntimeError),
    ("cache", RuntimeError),
    ("listener", ValueError),
    ("scan", RuntimeError),
]


@pytest.mark.parametrize(("stage", "exc"), REDIS_STAGES, ids=[s for s, _ in REDIS_STAGES])
def test_redis_source_survives_a_fault_at(
    stage: str,
    exc: type[BaseException],
    tmp_path: Path,
    redis_url: str,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fault = Fault(exc)
    target = RedisTarget.from_url(f"{redis_url}?prefix={redis_prefix}")
    reg = SnapshotRegistry()

    publish = _publisher(target, fault)
    publish(1)
    _patch_stage(monkeypatch, stage, fault, reg)
    for name, when in (("get", "get"), ("scan_iter", "scan")):
        if stage == when:
            original = getattr(aioredis.Redis, name)

            def faulty(self: Any, *args: Any, _original: Any = original, **kw: Any) -> Any:
                fault.check()
                return _original(self, *args, **kw)

            monkeypatch.setattr(aioredis.Redis, name, faulty)
    source = RedisSource(
        f"{redis_url}?prefix={redis_prefix}",
        "dev",
        reg,
        LocalCache(tmp_path / "cache"),
        resync_interval=RESYNC,
    )
    _run(_exercise(reg, source, publish, fault, stage))


def test_a_deeply_nested_hint_is_a_rescan_not_a_crash(
    redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    """The probe's message: 100,000 nested brackets on cfg-updated (and as a pointer)."""
    target = RedisTarget.from_url(f"{redis_url}?prefix={redis_prefix}")
    reg = SnapshotRegistry()
    source = RedisSource(f"{redis_url}?prefix={redis_prefix}", "dev", reg, resync_interval=60)
    deep = "[" * 100_000 + "]" * 100_000

    async def scenario() -> None:
        health = SourceHealth(source.name)
        task = asyncio.create_task(supervise(source, health))
        sid, raw = release(1)
        target.publish(Pointer("demo", "dev", 1, sid), raw)
        await _until(lambda: reg.version("demo") == 1)
        target.client.publish(redis_channel(redis_prefix), deep)
        target.client.set(f"{redis_prefix}:evil:dev:current", deep)
        target.client.publish(redis_channel(redis_prefix), deep)
        await _until(lambda: reg.last_rejected("evil") is not None)
        assert reg.last_rejected("evil").reason == "bad_pointer"  # type: ignore[union-attr]
        sid, raw = release(2)
        target.publish(Pointer("demo", "dev", 2, sid), raw)
        await _until(lambda: reg.version("demo") == 2)  # within the hint, not the 60 s resync
        assert health.restarts == 0 and not task.done()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    _run(scenario())
