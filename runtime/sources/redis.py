"""The Redis source: ``cfg-updated`` messages are hints; the ``current`` pointer is the truth.

Pub/sub is at-most-once, so on every message, on every (re)connect and on a slow timer
(default 15 s) the source reads the authoritative ``current`` pointers. Versions only move
forward (the registry ignores duplicates and older versions). A lost connection is retried
with exponential backoff and jitter while the last good snapshots keep serving.
"""

from __future__ import annotations

import asyncio
import logging
import random
from urllib.parse import parse_qs, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from runtime.cache import LocalCache
from runtime.errors import Reason
from runtime.layout import (
    DEFAULT_PREFIX,
    Pointer,
    redis_channel,
    redis_current_key,
    redis_snapshot_key,
)
from runtime.registry import SnapshotRegistry
from runtime.sources.base import accept

log = logging.getLogger("focal.runtime.redis")


class RedisSource:
    def __init__(
        self,
        url: str,
        env: str,
        registry: SnapshotRegistry,
        cache: LocalCache | None = None,
        resync_interval: float = 15.0,
        prefix: str | None = None,
    ) -> None:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        self.prefix = prefix or query.get("prefix", [DEFAULT_PREFIX])[0]
        self.url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        self.env = env
        self.registry = registry
        self.cache = cache
        self.resync_interval = resync_interval
        self.name = (
            f"{urlunsplit((parts.scheme, parts.netloc.rsplit('@', 1)[-1], parts.path, '', ''))}"
        )
        self.connected = False
        self.reconnects = 0
        self.problem: str | None = None  # shown on /healthz while it lasts

    async def run(self) -> None:
        delay = 0.1
        while True:
            client = aioredis.Redis.from_url(
                self.url, socket_connect_timeout=2, socket_timeout=None, health_check_interval=5
            )
            try:
                await self._session(client)
            except (RedisError, OSError) as exc:
                if self.connected or self.reconnects == 0:
                    log.warning(
                        "%s Redis at %s: %s; serving the last good snapshots, retrying with backoff",
                        "lost" if self.connected else "cannot reach",
                        self.name,
                        exc,
                    )
                self.problem = f"not connected to Redis at {self.name}: {exc}"
                self.connected = False
                self.reconnects += 1
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 5.0)
                continue
            finally:
                await client.aclose()
            delay = 0.1

    async def _session(self, client: aioredis.Redis) -> None:
        pubsub = client.pubsub()
        await pubsub.subscribe(redis_channel(self.prefix))
        try:
            if not self.connected and self.reconnects:
                log.info("connected to Redis at %s", self.name)
            self.connected, self.problem = True, None
            await self.scan(client)  # on every (re)connect: read the truth, not the hints
            loop = asyncio.get_running_loop()
            next_resync = loop.time() + self.resync_interval
            while True:
                timeout = max(next_resync - loop.time(), 0.0)
                message = await pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=min(timeout, 1.0)
                )
                if message is not None:
                    await self._hint(client, message.get("data"))
                if loop.time() >= next_resync:
                    await self.scan(client)
                    next_resync = loop.time() + self.resync_interval
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _hint(self, client: aioredis.Redis, data: object) -> None:
        """A message names a tenant (load its pointer) or nothing usable (rescan everything).
        It is never trusted further: oversized or deeply nested ones count as 'rescan'."""
        try:
            hint = Pointer.from_json(data) if isinstance(data, (bytes, str)) else None
        except ValueError:
            hint = None
        if hint is None:
            await self.scan(client)
        elif hint.env == self.env:
            await self.load(client, hint.tenant)

    async def scan(self, client: aioredis.Redis) -> None:
        seen: set[str] = set()
        async for key in client.scan_iter(match=f"{self.prefix}:*:{self.env}:current", count=500):
            text = key.decode(errors="replace") if isinstance(key, bytes) else str(key)
            tenant = text[len(self.prefix) + 1 :].rsplit(f":{self.env}:current", 1)[0]
            seen.add(tenant)
            await self.load(client, tenant)
        self.registry.keep_rejections(seen)

    async def load(self, client: aioredis.Redis, tenant: str) -> None:
        """Load one tenant's current pointer. Redis errors go up (the session reconnects);
        anything else rejects this candidate and leaves the source running."""
        try:
            await self._load(client, tenant)
        except (RedisError, OSError):
            raise
        except Exception as exc:
            log.exception("reading the %s candidate from Redis failed", tenant)
            self.registry.reject(tenant, "-", Reason.LOAD_ERROR, repr(exc))

    async def _load(self, client: aioredis.Redis, tenant: str) -> None:
        raw_pointer = await client.get(redis_current_key(self.prefix, tenant, self.env))
        if raw_pointer is None:
            self.registry.clear_rejection(tenant)
            return
        try:
            pointer = Pointer.from_json(raw_pointer)
        except ValueError as exc:
            self.registry.reject(tenant, "-", Reason.BAD_POINTER, str(exc))
            return
        if pointer.tenant != tenant or pointer.env != self.env:
            self.registry.reject(
                tenant,
                pointer.snapshot,
                Reason.WRONG_TENANT,
                f"the current key of {tenant}/{self.env} names {pointer.tenant}/{pointer.env}",
            )
            return
        if not self.registry.note_pointer(tenant, pointer.version, pointer.snapshot):
            return
        raw = await client.get(redis_snapshot_key(self.prefix, tenant, self.env, pointer.snapshot))
        if raw is None:
            self.registry.reject(
                tenant,
                pointer.snapshot,
                Reason.MISSING,
                "snapshot key is missing",
                pointer.version,
            )
            return
        body = raw if isinstance(raw, bytes) else raw.encode()
        accept(self.registry, self.cache, pointer, body, f"redis {self.name}")
