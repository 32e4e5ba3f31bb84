"""``focalctl serve``: run the runtime server on a file or Redis source."""

from __future__ import annotations

import logging
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from focalctl.cli.app import app
from focalctl.cli.common import EXIT_USAGE, check_env_option, console, fail


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


@app.command()
def serve(
    source: Annotated[
        str,
        typer.Option(
            "--source", envvar="FOCAL_SOURCE", help="file:DIR or redis://HOST:PORT/DB[?prefix=P]"
        ),
    ] = "file:.focal/live",
    env: Annotated[
        str, typer.Option("--env", envvar="FOCAL_ENV", callback=check_env_option)
    ] = "dev",
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8080,
    cache_dir: Annotated[
        Path,
        typer.Option(
            "--cache-dir",
            help="Last good snapshots, served (as stale) when the source is down or damaged.",
        ),
    ] = Path(".focal/cache/runtime"),
    resync: Annotated[
        float,
        typer.Option("--resync", min=0.1, help="Seconds between full rescans of the source."),
    ] = 15.0,
    log_level: Annotated[LogLevel, typer.Option("--log-level")] = LogLevel.info,
    state: Annotated[
        str,
        typer.Option(
            "--state",
            envvar="FOCAL_STATE",
            help="Conversations, tool calls and audit: memory, sqlite:///PATH, "
            "postgresql://USER@HOST/DB or redis://HOST:PORT/DB[?prefix=P].",
        ),
    ] = "sqlite:///.focal/runtime.db",
    llm: Annotated[
        str | None,
        typer.Option(
            "--llm",
            envvar="FOCAL_LLM_URL",
            help="An OpenAI-compatible API (e.g. http://127.0.0.1:11434/v1) that extracts "
            "intent and slots from messages that carry neither.",
        ),
    ] = None,
    llm_key_env: Annotated[
        str,
        typer.Option(
            "--llm-key-env", help="Environment variable that holds the API key (never logged)."
        ),
    ] = "FOCAL_LLM_API_KEY",
    turn_lease: Annotated[
        str,
        typer.Option(
            "--turn-lease",
            help="How long a conversation stays locked by a turn whose server died; also how "
            "long after its tool's timeout a call left in flight is reconciled (e.g. 30s).",
        ),
    ] = "30s",
    outbound: Annotated[
        str | None,
        typer.Option(
            "--outbound",
            envvar="FOCAL_OUTBOUND_URL",
            help="Send follow-ups and reminders: 'profiles' (each channel profile's own "
            "spec.delivery endpoint) or an http(s) URL (the webhook for profiles without one). "
            "Without it they stay scheduled and are not sent.",
        ),
    ] = None,
    outbound_key_env: Annotated[
        str,
        typer.Option(
            "--outbound-key-env",
            help="Environment variable holding the webhook's bearer token (never logged).",
        ),
    ] = "FOCAL_OUTBOUND_KEY",
) -> None:
    """Run the runtime: hot-load released snapshots and serve them over HTTP."""
    if llm is not None and not llm.startswith(("http://", "https://")):
        fail(
            f"--llm {llm!r} is not an http(s) URL",
            "e.g. --llm http://127.0.0.1:11434/v1",
            code=EXIT_USAGE,
        )
    from runtime.durations import parse_duration

    if outbound not in (None, "profiles") and not outbound.startswith(("http://", "https://")):
        fail(
            f"--outbound {outbound!r} is neither 'profiles' nor an http(s) URL",
            "e.g. --outbound https://hooks.example.com/focal, or --outbound profiles to send only "
            "through the channel profiles' spec.delivery endpoints",
            code=EXIT_USAGE,
        )

    try:
        lease_ms = parse_duration(turn_lease)
    except ValueError as exc:
        fail(f"--turn-lease: {exc}", "e.g. --turn-lease 30s", code=EXIT_USAGE)
    if lease_ms < 1000:
        fail(
            f"--turn-lease {turn_lease} is under a second",
            "a turn must fit in it: use 1s or more (30s by default)",
            code=EXIT_USAGE,
        )
    import uvicorn

    from runtime.cache import LocalCache
    from runtime.conversations import TurnService
    from runtime.metrics import Metrics
    from runtime.ports import StateError, SystemClock, open_state
    from runtime.providers import OpenAIChatProvider
    from runtime.registry import SnapshotRegistry
    from runtime.server import create_app
    from runtime.sources import FileSource, SourceError, boot_from_cache, open_source
    from runtime.tools import HttpGateway
    from runtime.tools.demo import demo_gateway

    logging.basicConfig(
        level=log_level.value.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("watchfiles").setLevel(logging.WARNING)
    registry = SnapshotRegistry()
    metrics = Metrics()
    metrics.attach(registry)
    registry.listeners.append(_freeze_after_swap)
    cache = LocalCache(cache_dir)
    try:
        src = open_source(source, env, registry, cache, resync_interval=resync)
    except SourceError as exc:
        fail(str(exc), exc.hint, code=EXIT_USAGE)
    restored = boot_from_cache(registry, cache, env)
    if restored:
        console(stderr=True).print(
            f"restored {restored} tenant(s) from {escape(str(cache_dir))} "
            "(stale until the source confirms them)"
        )
    try:
        backend = open_state(state)
    except StateError as exc:
        fail(str(exc), exc.hint, code=EXIT_USAGE)
    except Exception as exc:  # a driver's own error: unreachable, refused, no such database
        fail(
            f"cannot open the state at {state}: {type(exc).__name__}: {str(exc).splitlines()[0]}",
            "check that the service is running and the URL is right, or use --state memory",
        )
    try:
        backend.load("-", "-")  # a cheap probe: say now, not at the first turn
    except Exception as exc:
        logging.getLogger("focal.runtime").warning(
            "state at %s does not answer (%s); turns get 503 until it does",
            backend.description,
            type(exc).__name__,
        )
    turns = TurnService(
        registry,
        backend,
        SystemClock(),
        {"internal": demo_gateway(), "http": HttpGateway()},
        provider=OpenAIChatProvider(llm, key_env=llm_key_env) if llm else None,
        lease=timedelta(milliseconds=lease_ms),
    )
    scheduler = None
    if outbound is not None:
        from runtime.agenda import Scheduler, WebhookOutbound

        default = None if outbound == "profiles" else outbound
        scheduler = Scheduler(turns, WebhookOutbound(default, secret_env=outbound_key_env))
    if isinstance(src, FileSource):
        src.scan()
    tenants = ", ".join(f"{t} v{registry.version(t)}" for t in registry.tenants()) or "none yet"
    console(stderr=True).print(
        escape(
            f"focal runtime on http://{host}:{port} from {src.name} (env {env}), state "
            f"{backend.description}; follow-ups "
            f"{_follow_ups(outbound)}; "
            f"loaded: {tenants}"
        )
    )
    uvicorn.run(
        create_app(registry, [src], metrics, turns, scheduler),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
    )


def _follow_ups(outbound: str | None) -> str:
    if outbound is None:
        return "not sent (no --outbound)"
    if outbound == "profiles":
        return "to the channel profiles' delivery endpoints"
    return f"to the profiles' delivery endpoints, else {_host(outbound)}"


def _host(url: str) -> str:
    """A URL's scheme and host, without credentials or path (safe to print)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def _freeze_after_swap(*_: object) -> None:
    """Move what is alive after a swap out of the collector's reach.

    A loaded snapshot is hundreds of thousands of acyclic objects that live until the next
    swap; left in the tracked generations, every full collection walks them all (tens of ms,
    in the middle of requests). Frozen, they are still freed by reference counting when the
    registry lets go of them.
    """
    import gc

    gc.freeze()
