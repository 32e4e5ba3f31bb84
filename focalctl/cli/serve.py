"""``focalctl serve``: run the runtime server on a file or Redis source."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from focalctl.cli.app import app
from focalctl.cli.common import console, fail


@app.command()
def serve(
    source: Annotated[
        str,
        typer.Option(
            "--source", envvar="FOCAL_SOURCE", help="file:DIR or redis://HOST:PORT/DB[?prefix=P]"
        ),
    ] = "file:.focal/live",
    env: Annotated[str, typer.Option("--env", envvar="FOCAL_ENV")] = "dev",
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8080,
    cache_dir: Annotated[
        Path,
        typer.Option(
            "--cache-dir", help="Last good snapshots, for booting while the source is down."
        ),
    ] = Path(".focal/cache/runtime"),
    resync: Annotated[
        float, typer.Option("--resync", help="Seconds between full rescans of the source.")
    ] = 15.0,
    log_level: Annotated[str, typer.Option("--log-level")] = "info",
) -> None:
    """Run the runtime: hot-load released snapshots and serve them over HTTP."""
    import uvicorn

    from runtime.cache import LocalCache
    from runtime.metrics import Metrics
    from runtime.registry import SnapshotRegistry
    from runtime.server import create_app
    from runtime.sources import FileSource, RedisSource
    from runtime.sources.base import Source, boot_from_cache

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("watchfiles").setLevel(logging.WARNING)
    registry = SnapshotRegistry()
    metrics = Metrics()
    metrics.attach(registry)
    registry.listeners.append(_freeze_after_swap)
    cache = LocalCache(cache_dir)
    src: Source
    if source.startswith("file:"):
        root = Path(source.removeprefix("file:") or ".")
        src = FileSource(root, env, registry, cache, resync_interval=resync)
        src.scan()
    elif source.startswith(("redis://", "rediss://")):
        restored = boot_from_cache(registry, cache, env)
        src = RedisSource(source, env, registry, cache, resync_interval=resync)
        if restored:
            console(stderr=True).print(
                f"restored {restored} tenant(s) from {cache_dir} (stale until Redis answers)"
            )
    else:
        fail(f"unknown source {source!r}", "use --source file:DIR or --source redis://HOST:PORT/DB")
    tenants = ", ".join(f"{t} v{registry.version(t)}" for t in registry.tenants()) or "none yet"
    console(stderr=True).print(
        f"focal runtime on http://{host}:{port} from {src.name} (env {env}); loaded: {tenants}"
    )
    uvicorn.run(
        create_app(registry, [src]), host=host, port=port, log_level="warning", access_log=False
    )


def _freeze_after_swap(*_: object) -> None:
    """Move what is alive after a swap out of the collector's reach.

    A loaded snapshot is hundreds of thousands of acyclic objects that live until the next
    swap; left in the tracked generations, every full collection walks them all (tens of ms,
    in the middle of requests). Frozen, they are still freed by reference counting when the
    registry lets go of them.
    """
    import gc

    gc.freeze()
