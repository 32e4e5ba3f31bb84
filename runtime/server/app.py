"""FastAPI app: ``/healthz``, ``/metrics``, ``/v1/tenants/{tenant}/config`` and ``/effective``.

Every response carries ``X-Focal-Snapshot``; errors are JSON ``{"error": {"code", "message"}}``
with a 4xx status for bad requests, never a 500 for bad input.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from runtime.metrics import Metrics
from runtime.registry import Active, SnapshotRegistry
from runtime.sources.base import Source, SourceHealth, supervise

HEADER = "X-Focal-Snapshot"


def _error(status: int, code: str, message: str, snapshot: str = "none") -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=status,
        headers={HEADER: snapshot},
    )


def _tenant_health(registry: SnapshotRegistry, name: str) -> dict[str, Any]:
    active = registry.get(name)
    rejected = registry.last_rejected(name)
    return {
        "status": registry.status(name),
        "version": active.version if active else None,
        "snapshot": active.id if active else None,
        "loaded_at": active.loaded_at.isoformat() if active else None,
        "source": active.source if active else None,
        "stale": active.stale if active else True,
        "last_rejected": rejected.to_json() if rejected else None,
    }


def create_app(
    registry: SnapshotRegistry, sources: Sequence[Source] = (), metrics: Metrics | None = None
) -> FastAPI:
    if metrics is None:  # callers that load before serving attach their own first
        metrics = Metrics()
        metrics.attach(registry)

    healths = [SourceHealth(s.name) for s in sources]
    metrics.watch(healths)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        tasks = [
            asyncio.create_task(supervise(s, h), name=s.name)
            for s, h in zip(sources, healths, strict=True)
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    app = FastAPI(title="Focal runtime", lifespan=lifespan, docs_url=None, redoc_url=None)
    config_cache: dict[str, tuple[tuple[str, int, bool], bytes]] = {}

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(
            exc.status_code,
            "not_found" if exc.status_code == 404 else "http_error",
            str(exc.detail),
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return _error(400, "bad_request", f"{where}: {first['msg']}")

    def _tenant(tenant: str) -> Active | JSONResponse:
        active = registry.get(tenant)
        if active is None:
            known = ", ".join(registry.tenants()) or "none loaded yet"
            return _error(
                404,
                "unknown_tenant",
                f"no snapshot is loaded for tenant '{tenant}' (loaded: {known})",
            )
        return active

    @app.get("/healthz")
    async def healthz(tenant: str | None = None) -> JSONResponse:
        names = sorted(set(registry.tenants()) | set(registry.rejected_tenants()))
        if tenant is not None:
            names = [tenant]
        tenants = {name: _tenant_health(registry, name) for name in names}
        problems = [
            f"tenant {name}: {entry['status']}"
            + (f" ({entry['last_rejected']['reason']})" if entry["last_rejected"] else "")
            for name, entry in tenants.items()
            if entry["status"] != "ok"
        ]
        source_states = [
            h.to_json(getattr(s, "problem", None)) for s, h in zip(sources, healths, strict=True)
        ]
        if tenant is None:
            problems += [
                f"source {state['name']}: {state['state']}: {state['error']}"
                for state in source_states
                if state["state"] != "running" or state["error"]
            ]
        # Ready while it serves something: a tenant whose candidates are refused must not take
        # the others out of a load balancer. ?tenant=T asks about T alone.
        ready = any(entry["snapshot"] for entry in tenants.values())
        header = (
            ",".join(f"{n}={t['snapshot']}" for n, t in sorted(tenants.items()) if t["snapshot"])
            or "none"
        )
        body: dict[str, Any] = {
            "status": "ok" if ready and not problems else "degraded" if ready else "unavailable",
            "tenants": tenants,
            "problems": problems or ([] if ready else ["no snapshot is loaded yet"]),
        }
        if tenant is None:
            body["sources"] = source_states
        return JSONResponse(body, status_code=200 if ready else 503, headers={HEADER: header})

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(
            generate_latest(metrics.registry),
            media_type=CONTENT_TYPE_LATEST,
            headers={HEADER: "none"},
        )

    @app.get("/v1/tenants/{tenant}/config")
    async def config(tenant: str) -> Response:
        active = _tenant(tenant)
        if isinstance(active, JSONResponse):
            return active
        cached = config_cache.get(tenant)
        key = (active.id, active.version, active.stale)
        if cached is None or cached[0] != key:
            head = {
                "tenant": tenant,
                "version": active.version,
                "snapshot": active.id,
                "stale": active.stale,
            }
            # The canonical snapshot bytes are spliced in as they are: no re-serialisation.
            body = json.dumps(head)[:-1].encode() + b', "config": ' + active.raw + b"}"
            cached = (key, body)
            config_cache[tenant] = cached
        return Response(cached[1], media_type="application/json", headers={HEADER: active.id})

    @app.get("/v1/tenants/{tenant}/effective")
    async def effective(
        tenant: str,
        agent: str,
        scenario: str | None = None,
        step: str | None = None,
        channel: str | None = None,
    ) -> JSONResponse:
        active = _tenant(tenant)
        if isinstance(active, JSONResponse):
            return active
        if step and not scenario:
            return _error(400, "bad_request", "step needs scenario", active.id)
        try:
            resolved = active.effective(agent, scenario, step, channel)
        except KeyError as exc:
            return _error(
                404, "unknown_name", f"unknown name {exc.args[0]!r} in tenant '{tenant}'", active.id
            )
        except ValidationError as exc:
            return _error(
                422, "unresolvable", f"settings do not resolve: {exc.errors()[0]['msg']}", active.id
            )
        body = {
            "tenant": tenant,
            "version": active.version,
            "snapshot": active.id,
            "stale": active.stale,
            "agent": agent,
            "scenario": scenario,
            "step": step,
            "channel": channel,
            **resolved,
        }
        return JSONResponse(body, headers={HEADER: active.id})

    return app
