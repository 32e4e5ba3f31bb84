"""Wiring a runtime server from its options: the source, the local cache, the state backend,
the turn service and the agenda's scheduler, and the app over them.

``focalctl serve`` checks its options, then calls :func:`build` once (one process) or passes
the options to each worker process through the environment (``--workers N``), where uvicorn
calls :func:`worker_app`. Each worker wires its own runtime: its own source watcher, state
connections and scheduler; what they share is the state store (turn leases, inbound ids, tool
call records and agenda claims keep them from doing a thing twice) and the source.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from runtime.ports import StateBackend
    from runtime.registry import SnapshotRegistry
    from runtime.sources import Source

#: The environment variable that carries :class:`ServeOptions` to worker processes.
OPTIONS_ENV = "FOCAL_SERVE_OPTIONS"

log = logging.getLogger("focal.runtime")


@dataclass(frozen=True, slots=True)
class ServeOptions:
    source: str
    env: str
    cache_dir: str
    resync: float
    state: str
    lease_ms: int
    llm: str | None = None
    llm_key_env: str = "FOCAL_LLM_API_KEY"
    outbound: str | None = None  # an http(s) URL, "profiles", or None: follow-ups not sent
    outbound_key_env: str = "FOCAL_OUTBOUND_KEY"
    log_level: str = "info"

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> ServeOptions:
        raw = os.environ.get(OPTIONS_ENV)
        if not raw:
            raise RuntimeError(f"{OPTIONS_ENV} is not set: start workers with focalctl serve")
        return cls(**json.loads(raw))


@dataclass(frozen=True, slots=True)
class Built:
    app: FastAPI
    registry: SnapshotRegistry
    source: Source
    state: StateBackend
    restored: int  # tenants booted from the local cache


def build(options: ServeOptions) -> Built:
    """The runtime and its app. Raises :class:`~runtime.sources.SourceError` or
    :class:`~runtime.ports.StateError` (with a hint) for options that cannot work, and the
    driver's own error when the state cannot be opened."""
    from runtime.cache import LocalCache
    from runtime.conversations import TurnService
    from runtime.metrics import Metrics
    from runtime.ports import SystemClock, open_state
    from runtime.providers import OpenAIChatProvider
    from runtime.registry import SnapshotRegistry
    from runtime.server.app import create_app
    from runtime.sources import FileSource, boot_from_cache, open_source
    from runtime.tools import HttpGateway
    from runtime.tools.demo import demo_gateway

    registry = SnapshotRegistry()
    metrics = Metrics()
    metrics.attach(registry)
    registry.listeners.append(_freeze_after_swap)
    cache = LocalCache(Path(options.cache_dir))
    source = open_source(
        options.source, options.env, registry, cache, resync_interval=options.resync
    )
    restored = boot_from_cache(registry, cache, options.env)
    backend = open_state(options.state)
    try:
        backend.load("-", "-")  # a cheap probe: say now, not at the first turn
    except Exception as exc:
        log.warning(
            "state at %s does not answer (%s); turns get 503 until it does",
            backend.description,
            type(exc).__name__,
        )
    llm = options.llm
    turns = TurnService(
        registry,
        backend,
        SystemClock(),
        {"internal": demo_gateway(), "http": HttpGateway()},
        provider=OpenAIChatProvider(llm, key_env=options.llm_key_env) if llm else None,
        lease=timedelta(milliseconds=options.lease_ms),
    )
    scheduler = None
    if options.outbound is not None:
        from runtime.agenda import Scheduler, WebhookOutbound

        default = None if options.outbound == "profiles" else options.outbound
        outbound = WebhookOutbound(default, secret_env=options.outbound_key_env)
        scheduler = Scheduler(turns, outbound)
    if isinstance(source, FileSource):
        source.scan()
    app = create_app(registry, [source], metrics, turns, scheduler)
    return Built(app, registry, source, backend, restored)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("watchfiles").setLevel(logging.WARNING)


def worker_app() -> FastAPI:
    """uvicorn's app factory in each worker process of ``focalctl serve --workers N``."""
    options = ServeOptions.from_env()
    configure_logging(options.log_level)
    return build(options).app


def _freeze_after_swap(*_: object) -> None:
    """Move what is alive after a swap out of the collector's reach.

    A loaded snapshot is hundreds of thousands of acyclic objects that live until the next
    swap; left in the tracked generations, every full collection walks them all (tens of ms,
    in the middle of requests). Frozen, they are still freed by reference counting when the
    registry lets go of them.
    """
    import gc

    gc.freeze()
