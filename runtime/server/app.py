"""The runtime's HTTP API as a table of routes (:data:`ROUTES`), one module-level handler each.

Handlers get what they serve through :func:`runtime` (the :class:`Runtime` that
:func:`create_app` puts on the app's state), so each can be read, and tested, on its own.
Every response carries ``X-Focal-Snapshot``; errors come from the one vocabulary in
:mod:`runtime.server.errors`, with a 4xx status for bad requests, never a 500 for bad input.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from runtime.agenda import Scheduler
from runtime.conversations import TurnError, TurnRequest, TurnService
from runtime.gateway import TurnGateway
from runtime.metrics import Metrics
from runtime.offerings import CATALOGS, UnknownName
from runtime.registry import Active, SnapshotRegistry
from runtime.server.errors import HEADER, ApiError, error
from runtime.sources.base import Source, SourceHealth, supervise

log = logging.getLogger("focal.runtime.server")


@dataclass(slots=True)
class Runtime:
    """What the handlers serve: the snapshot registry, the sources feeding it, metrics."""

    registry: SnapshotRegistry
    sources: Sequence[Source]
    metrics: Metrics
    healths: list[SourceHealth] = field(default_factory=list)
    config_cache: dict[str, tuple[tuple[str, int, bool], bytes]] = field(default_factory=dict)
    turns: TurnGateway | None = None
    scheduler: Scheduler | None = None


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(runtime)]


def _active(rt: Runtime, tenant: str) -> Active | JSONResponse:
    active = rt.registry.get(tenant)
    if active is None:
        known = ", ".join(rt.registry.tenants()) or "none loaded yet"
        return error(
            ApiError.UNKNOWN_TENANT,
            f"no snapshot is loaded for tenant '{tenant}' (loaded: {known})",
        )
    return active


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


async def healthz(rt: RuntimeDep, tenant: str | None = None) -> JSONResponse:
    """200 while the runtime serves at least one tenant (``?tenant=T``: while it serves T);
    ``status`` is ``ok`` only when every tenant and source is, else ``degraded`` with the
    ``problems``. One tenant's refused candidate never takes the others out of rotation."""
    registry = rt.registry
    names = [tenant] if tenant is not None else registry.known_tenants()
    tenants = {name: _tenant_health(registry, name) for name in names}
    problems = [
        f"tenant {name}: {entry['status']}"
        + (f" ({entry['last_rejected']['reason']})" if entry["last_rejected"] else "")
        for name, entry in tenants.items()
        if entry["status"] != "ok"
    ]
    sources = [
        h.to_json(getattr(s, "problem", None)) for s, h in zip(rt.sources, rt.healths, strict=True)
    ]
    if tenant is None:
        problems += [
            f"source {s['name']}: {s['state']}: {s['error']}"
            for s in sources
            if s["state"] != "running" or s["error"]
        ]
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
        body["sources"] = sources
    return JSONResponse(body, status_code=200 if ready else 503, headers={HEADER: header})


async def prometheus(rt: RuntimeDep) -> Response:
    return Response(
        generate_latest(rt.metrics.registry),
        media_type=CONTENT_TYPE_LATEST,
        headers={HEADER: "none"},
    )


async def config(rt: RuntimeDep, tenant: str) -> Response:
    """The active snapshot, its canonical bytes spliced in as they are (no re-serialising)."""
    active = _active(rt, tenant)
    if isinstance(active, JSONResponse):
        return active
    key = (active.id, active.version, active.stale)
    cached = rt.config_cache.get(tenant)
    if cached is None or cached[0] != key:
        head = {
            "tenant": tenant,
            "version": active.version,
            "snapshot": active.id,
            "stale": active.stale,
        }
        body = json.dumps(head)[:-1].encode() + b', "config": ' + active.raw + b"}"
        cached = (key, body)
        rt.config_cache[tenant] = cached
    return Response(cached[1], media_type="application/json", headers={HEADER: active.id})


async def effective(
    rt: RuntimeDep,
    tenant: str,
    agent: str,
    scenario: str | None = None,
    step: str | None = None,
    channel: str | None = None,
) -> JSONResponse:
    """Resolved settings for (agent, scenario, step, channel) and the level each came from."""
    active = _active(rt, tenant)
    if isinstance(active, JSONResponse):
        return active
    if step and not scenario:
        return error(ApiError.BAD_REQUEST, "step needs scenario", active.id)
    try:
        resolved = active.effective(agent, scenario, step, channel)
    except KeyError as exc:
        return error(
            ApiError.UNKNOWN_NAME, f"unknown name {exc.args[0]!r} in tenant '{tenant}'", active.id
        )
    except ValidationError as exc:
        return error(
            ApiError.UNRESOLVABLE,
            f"settings do not resolve: {exc.errors()[0]['msg']}",
            active.id,
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


MAX_TEXT = 4096  # characters of one message


class _TurnBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant: str = Field(min_length=1, max_length=63)
    agent: str = Field(min_length=1, max_length=63)
    channel: str = Field(min_length=1, max_length=63)
    conversation_id: str = Field(min_length=1, max_length=255)
    message_id: str = Field(min_length=1, max_length=255)
    text: str
    intent: str | None = Field(None, max_length=63)
    slots: dict[str, Any] = Field(default_factory=dict)
    profile: dict[str, Any] = Field(default_factory=dict)


_TURN_BODY = TypeAdapter(_TurnBody)


def _turn_error(exc: TurnError, snapshot: str = "none") -> JSONResponse:
    return error(exc.code, exc.message, snapshot, exc.retry_after)


async def post_turn(rt: RuntimeDep, request: Request) -> JSONResponse:
    """One inbound message through the gateway: ``processed`` or ``coalesced`` (with the
    turn's reply), ``duplicate``, or ``queued`` (accepted; its turn had not finished in time)."""
    if rt.turns is None:
        return error(ApiError.TURNS_DISABLED, "start the server with --state to run turns")
    raw = await request.body()
    if len(raw) > 64 * 1024:
        return error(ApiError.TOO_LARGE, f"the request is {len(raw)} bytes; at most 65536")
    try:
        body = _TURN_BODY.validate_json(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        return error(ApiError.INVALID_TURN, f"{where}: {first['msg']}")
    if len(body.text) > MAX_TEXT:
        return error(ApiError.TOO_LARGE, f"text is {len(body.text)} characters; at most {MAX_TEXT}")
    turns = rt.turns
    started = time.perf_counter()
    try:
        response = await run_in_threadpool(
            turns.handle,
            TurnRequest(
                body.tenant,
                body.agent,
                body.channel,
                body.conversation_id,
                body.message_id,
                body.text,
                body.intent,
                body.slots,
                body.profile,
            ),
        )
    except TurnError as exc:
        rt.metrics.turns.labels(body.tenant, exc.code).inc()
        return _turn_error(exc)
    except Exception as exc:  # the state backend (Redis, SQL) failed: not the request's fault
        log.exception("turn for %s/%s failed", body.tenant, body.conversation_id)
        rt.metrics.turns.labels(body.tenant, "state_unavailable").inc()
        return error(ApiError.STATE_UNAVAILABLE, f"state backend error: {type(exc).__name__}")
    rt.metrics.turns.labels(body.tenant, response.status).inc()
    rt.metrics.turn_seconds.observe(time.perf_counter() - started)
    for tool in response.result.tools if response.result else []:
        rt.metrics.tool_calls.labels(body.tenant, tool.tool, tool.status).inc()
    return JSONResponse(response.to_json(), headers={HEADER: response.snapshot})


async def get_conversation(rt: RuntimeDep, conversation_id: str, tenant: str) -> JSONResponse:
    if rt.turns is None:
        return error(ApiError.TURNS_DISABLED, "start the server with --state to run turns")
    conv = await run_in_threadpool(rt.turns.service.state.load, tenant, conversation_id)
    if conv is None:
        return error(
            ApiError.NOT_FOUND, f"tenant '{tenant}' has no conversation '{conversation_id}'"
        )
    return JSONResponse(conv.to_json(), headers={HEADER: conv.snapshot or "none"})


async def search_offerings(
    rt: RuntimeDep,
    tenant: str,
    q: str | None = None,
    agent: str | None = None,
    channel: str | None = None,
    k: int = 5,
) -> JSONResponse:
    """Offerings and FAQ entries ranked for ``q`` (BM25), within the agent's catalog and the
    channel profile when given; the index is built on a snapshot's first search."""
    active = _active(rt, tenant)
    if isinstance(active, JSONResponse):
        return active
    if q is None:
        return error(ApiError.BAD_REQUEST, "q (the search text) is required", active.id)
    if len(q) > MAX_TEXT:
        return error(ApiError.TOO_LARGE, f"q is {len(q)} characters; at most {MAX_TEXT}", active.id)
    if not 1 <= k <= 50:
        return error(ApiError.BAD_REQUEST, f"k must be between 1 and 50, not {k}", active.id)
    live = {a.id for t in rt.registry.tenants() if (a := rt.registry.get(t))}
    try:
        catalog = await run_in_threadpool(CATALOGS.get, active.id, active.raw, live)
        hits = catalog.search(q, agent=agent, channel=channel, k=k)
    except UnknownName as exc:
        return error(ApiError.UNKNOWN_NAME, f"tenant '{tenant}': {exc}", active.id)
    body = {"query": q, "hits": [h.to_json() for h in hits]}
    return JSONResponse(body, headers={HEADER: active.id})


async def get_agenda(rt: RuntimeDep, conversation_id: str, tenant: str) -> JSONResponse:
    """The conversation's scheduled actions (follow-ups, reminders), in any status."""
    if rt.turns is None:
        return error(ApiError.TURNS_DISABLED, "start the server with --state to run turns")
    actions = await run_in_threadpool(rt.turns.service.state.actions, tenant, conversation_id)
    active = rt.registry.get(tenant)
    body = {"conversation_id": conversation_id, "actions": [a.to_json() for a in actions]}
    return JSONResponse(body, headers={HEADER: active.id if active else "none"})


class _ReceiptBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant: str = Field(min_length=1, max_length=63)
    message_id: str = Field(min_length=1, max_length=255)
    status: Literal["sent", "delivered", "read", "failed"]
    error: str | None = Field(None, max_length=1000)


_RECEIPT_BODY = TypeAdapter(_ReceiptBody)


async def post_receipt(rt: RuntimeDep, request: Request) -> JSONResponse:
    """A delivery receipt for a message the agenda sent: its status moves forward only
    (``changed: false`` for a duplicate or a late one); ``failed`` walks the message's
    fallback ladder (re-formatted, sent, recorded as a hop) or makes it ``undeliverable``."""
    if rt.scheduler is None:
        return error(
            ApiError.OUTBOUND_DISABLED, "start the server with --outbound to take receipts"
        )
    raw = await request.body()
    if len(raw) > 64 * 1024:
        return error(ApiError.TOO_LARGE, f"the request is {len(raw)} bytes; at most 65536")
    try:
        body = _RECEIPT_BODY.validate_json(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        return error(ApiError.INVALID_RECEIPT, f"{where}: {first['msg']}")
    active = _active(rt, body.tenant)
    if isinstance(active, JSONResponse):
        return active
    try:
        found = await run_in_threadpool(
            rt.scheduler.receipt, body.tenant, body.message_id, body.status, body.error
        )
    except Exception as exc:  # the state backend failed: not the request's fault
        log.exception("receipt for %s/%s failed", body.tenant, body.message_id)
        return error(ApiError.STATE_UNAVAILABLE, f"state backend error: {type(exc).__name__}")
    if found is None:
        return error(
            ApiError.NOT_FOUND,
            f"tenant '{body.tenant}' sent no message '{body.message_id}'",
            active.id,
        )
    message, changed = found
    answer = {"message_id": message.id, "status": str(message.status), "changed": changed}
    return JSONResponse(answer, headers={HEADER: active.id})


ROUTES: list[tuple[str, str, Callable[..., Any]]] = [
    ("GET", "/healthz", healthz),
    ("GET", "/metrics", prometheus),
    ("GET", "/v1/tenants/{tenant}/config", config),
    ("GET", "/v1/tenants/{tenant}/effective", effective),
    ("GET", "/v1/tenants/{tenant}/offerings/search", search_offerings),
    ("POST", "/v1/turns", post_turn),
    ("GET", "/v1/conversations/{conversation_id}", get_conversation),
    ("GET", "/v1/conversations/{conversation_id}/agenda", get_agenda),
    ("POST", "/v1/receipts", post_receipt),
]


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: ApiError.NOT_FOUND, 405: ApiError.METHOD_NOT_ALLOWED}.get(
        exc.status_code, ApiError.HTTP_ERROR
    )
    return error(code, str(exc.detail))


async def _invalid_request(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"])
    return error(ApiError.BAD_REQUEST, f"{where}: {first['msg']}")


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run every source under its supervisor for the life of the server."""
    rt: Runtime = app.state.runtime
    if rt.turns is not None:
        rt.turns.start()
    stop = threading.Event()
    agenda = None
    if rt.scheduler is not None:
        agenda = threading.Thread(
            target=_agenda_loop, args=(rt.scheduler, stop), name="focal-agenda", daemon=True
        )
        agenda.start()
    tasks = [
        asyncio.create_task(supervise(s, h), name=s.name)
        for s, h in zip(rt.sources, rt.healths, strict=True)
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        stop.set()
        if agenda is not None:
            await run_in_threadpool(agenda.join, 10)
        if rt.turns is not None:
            await run_in_threadpool(rt.turns.close)  # pending bursts run before we stop


def _agenda_loop(scheduler: Scheduler, stop: threading.Event, every: float = 1.0) -> None:
    """Fire due follow-ups every second until the server stops."""
    while not stop.wait(every):
        try:
            scheduler.tick()
        except Exception:  # the state backend is down: say so, try again next second
            log.exception("agenda tick failed")


def create_app(
    registry: SnapshotRegistry,
    sources: Sequence[Source] = (),
    metrics: Metrics | None = None,
    turns: TurnService | TurnGateway | None = None,
    scheduler: Scheduler | None = None,
) -> FastAPI:
    """The app over ``registry``. Pass the ``metrics`` already attached to it when snapshots
    are loaded before serving (``focalctl serve`` does), so those loads are counted too.
    A bare ``TurnService`` gets a :class:`TurnGateway` with its defaults."""
    if isinstance(turns, TurnService):
        turns = TurnGateway(turns)
    if metrics is None:
        metrics = Metrics()
        metrics.attach(registry)
    rt = Runtime(
        registry,
        sources,
        metrics,
        [SourceHealth(s.name) for s in sources],
        turns=turns,
        scheduler=scheduler,
    )
    metrics.watch(rt.healths)
    app = FastAPI(title="Focal runtime", lifespan=_lifespan, docs_url=None, redoc_url=None)
    app.state.runtime = rt
    for method, path, handler in ROUTES:
        app.add_api_route(path, handler, methods=[method])
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    return app
