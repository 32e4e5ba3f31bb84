"""The Redis source: ``cfg-updated`` messages are hints; the ``current`` pointer is the truth.

Pub/sub is at-most-once, so on every message, on every (re)connect and on a slow timer
(default 15 s) the source reads the authoritative ``current`` pointers. Versions only move
forward (the registry ignores duplicates and older versions). A lost connection is retried
with exponential backoff and jitter while the last good snapshots keep serving.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from urllib.parse import parse_qs, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from runtime.cache import LocalCache
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

    async def run(self) -> None:
        delay = 0.1
        while True:
            client = aioredis.Redis.from_url(
                self.url, socket_connect_timeout=2, socket_timeout=None, health_check_interval=5
            )
            try:
                await self._session(client)
            except (RedisError, OSError) as exc:
                if self.connected:
                    log.warning(
                        "lost Redis at %s: %s; serving the last good snapshots", self.name, exc
                    )
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
            self.connected = True
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
        try:
            hint = json.loads(data) if isinstance(data, (bytes, str)) else None
            tenant = hint.get("tenant") if isinstance(hint, dict) else None
        except ValueError:
            tenant = None
        if isinstance(tenant, str) and hint.get("env") in (self.env, None):  # type: ignore[union-attr]
            await self.load(client, tenant)
        elif tenant is None:
            await self.scan(client)

    async def scan(self, client: aioredis.Redis) -> None:
        async for key in client.scan_iter(match=f"{self.prefix}:*:{self.env}:current", count=500):
            text = key.decode() if isinstance(key, bytes) else str(key)
            tenant = text[len(self.prefix) + 1 :].rsplit(f":{self.env}:current", 1)[0]
            await self.load(client, tenant)

    async def load(self, client: aioredis.Redis, tenant: str) -> None:
        raw_pointer = await client.get(redis_current_key(self.prefix, tenant, self.env))
        if raw_pointer is None:
            return
        try:
            pointer = Pointer.from_json(raw_pointer)
        except ValueError as exc:
            self.registry.reject(tenant, "-", "bad-pointer", str(exc))
            return
        if not self.registry.wants(tenant, pointer.version, pointer.snapshot):
            return
        raw = await client.get(redis_snapshot_key(self.prefix, tenant, self.env, pointer.snapshot))
        if raw is None:
            self.registry.reject(
                tenant, pointer.snapshot, "missing", "snapshot key is missing", pointer.version
            )
            return
        body = raw if isinstance(raw, bytes) else raw.encode()
        accept(self.registry, self.cache, pointer, body, f"redis {self.name}")
