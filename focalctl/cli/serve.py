"""``focalctl serve``: run the runtime server on a file or Redis source."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from focalctl.cli.app import app
from focalctl.cli.common import EXIT_USAGE, console, fail
from focalctl.cli.options import EnvOpt


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
    env: EnvOpt = "dev",
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
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            envvar="FOCAL_WORKERS",
            help="Server processes sharing the port (and the state, which must not be memory); "
            "each runs its own source watcher and scheduler.",
        ),
    ] = 1,
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
    if workers > 1 and state == "memory":
        fail(
            f"--workers {workers} with --state memory: each worker would keep its own "
            "conversations",
            "use a shared state (sqlite:///PATH, postgresql://..., redis://...) or one worker",
            code=EXIT_USAGE,
        )
    import uvicorn

    from runtime.ports import StateError
    from runtime.server.wiring import OPTIONS_ENV, ServeOptions, build, configure_logging
    from runtime.sources import SourceError

    options = ServeOptions(
        source=source,
        env=env,
        cache_dir=str(cache_dir),
        resync=resync,
        state=state,
        lease_ms=lease_ms,
        llm=llm,
        llm_key_env=llm_key_env,
        outbound=outbound,
        outbound_key_env=outbound_key_env,
        log_level=log_level.value,
    )
    configure_logging(log_level.value)
    try:
        built = build(options)  # with workers, a check of the options and the banner's facts
    except (SourceError, StateError) as exc:
        fail(str(exc), exc.hint, code=EXIT_USAGE)
    except Exception as exc:  # a driver's own error: unreachable, refused, no such database
        fail(
            f"cannot open the state at {state}: {type(exc).__name__}: {str(exc).splitlines()[0]}",
            "check that the service is running and the URL is right, or use --state memory",
        )
    if built.restored:
        console(stderr=True).print(
            f"restored {built.restored} tenant(s) from {escape(str(cache_dir))} "
            "(stale until the source confirms them)"
        )
    registry = built.registry
    tenants = ", ".join(f"{t} v{registry.version(t)}" for t in registry.tenants()) or "none yet"
    processes = f" ({workers} worker processes)" if workers > 1 else ""
    console(stderr=True).print(
        escape(
            f"focal runtime on http://{host}:{port}{processes} from {built.source.name} "
            f"(env {env}), state {built.state.description}; follow-ups "
            f"{_follow_ups(outbound)}; "
            f"loaded: {tenants}"
        )
    )
    if workers == 1:
        uvicorn.run(built.app, host=host, port=port, log_level="warning", access_log=False)
        return
    built.state.close()  # each worker wires its own runtime from the same options
    os.environ[OPTIONS_ENV] = options.to_env()
    uvicorn.run(
        "runtime.server.wiring:worker_app",
        factory=True,
        workers=workers,
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
