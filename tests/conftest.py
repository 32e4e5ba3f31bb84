"""Shared fixtures: real services on 127.0.0.1, each test isolated in its own namespace.

A test that needs Redis or PostgreSQL skips with a reason when the service is absent, except
when ``FOCAL_REQUIRE_SERVICES=1`` (set by ``.ci/run``), where the skip becomes a failure.

Also what test modules import (``from tests.conftest import REPO, focalctl``): the checkout's
root, focalctl run as a real subprocess, and ``focalctl_in_process``: the same command through
typer's runner, for tests about output and exit status rather than the process itself.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FOCALCTL = (sys.executable, "-m", "focalctl.cli.main")
REDIS_HOST, REDIS_PORT = "127.0.0.1", int(os.environ.get("FOCAL_TEST_REDIS_PORT", "6379"))
PG_HOST, PG_PORT = "127.0.0.1", int(os.environ.get("FOCAL_TEST_PG_PORT", "5432"))
PG_DSN = os.environ.get(
    "FOCAL_TEST_PG_DSN", f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/test"
)


def focalctl_env(env: Mapping[str, str] | None = None, unset: Iterable[str] = ()) -> dict[str, str]:
    """This process's environment with this checkout importable and colour off, less the
    variables named in ``unset``, then ``env`` on top."""
    full = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    for name in unset:
        full.pop(name, None)
    return {**full, **(env or {})}


def focalctl(
    *args: str,
    cwd: Path = REPO,
    env: Mapping[str, str] | None = None,
    unset: Iterable[str] = (),
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """``focalctl *args`` as a subprocess of this checkout: output captured as text, stdin
    empty (a command that prompts must not wait for the terminal), killed after ``timeout``."""
    return subprocess.run(
        [*FOCALCTL, *args],
        cwd=cwd,
        env=focalctl_env(env, unset),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def focalctl_in_process(
    *args: str,
    cwd: Path = REPO,
    env: Mapping[str, str] | None = None,
    unset: Iterable[str] = (),
) -> subprocess.CompletedProcess[str]:
    """``focalctl *args`` in this process, through typer's runner, answered like ``focalctl``:
    the exit status, stdout and stderr apart, colour off, stdin empty, run in ``cwd``.

    What ``focalctl.cli.main:main`` would turn into "internal error" (exit 70) is raised here,
    so the test fails with the traceback. What stays for real subprocesses: the console script,
    signals, races, terminals, and anything read at start-up (imports, the environment before
    the command runs)."""
    from typer.testing import CliRunner

    from focalctl.cli.main import app

    overrides: dict[str, str | None] = {"NO_COLOR": "1", **dict.fromkeys(unset)}
    overrides.update(env or {})
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, list(args), env=overrides)
    finally:
        os.chdir(previous)
    # typer may vendor its own click: an exit is a SystemExit, anything else is a bug
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(
        ["focalctl", *args], result.exit_code, result.stdout, result.stderr
    )


def services_required() -> bool:
    return os.environ.get("FOCAL_REQUIRE_SERVICES") == "1"


def need_service(name: str, host: str, port: int) -> None:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return
    except OSError as exc:
        reason = f"{name} is not reachable on {host}:{port} ({exc})"
        if services_required():
            pytest.fail(f"FOCAL_REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)


@pytest.fixture
def redis_url() -> str:
    need_service("Redis", REDIS_HOST, REDIS_PORT)
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/0"


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A unique key prefix; every key under it is deleted after the test."""
    import redis

    prefix = f"focaltest-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A SQLAlchemy URL whose connections use a fresh schema, dropped after the test."""
    need_service("PostgreSQL", PG_HOST, PG_PORT)
    import sqlalchemy as sa

    schema = f"focaltest_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_DSN)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_DSN else "?"
    try:
        yield f"{PG_DSN}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(autouse=True, scope="session")
def _cache_outside_the_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """focalctl writes its partial-parse cache under .focal/cache/ of the working directory;
    tests that run it inside the repository (e.g. in tests/cases/) keep it in a temporary
    directory instead. Tests about the cache's location unset FOCAL_CACHE_DIR themselves."""
    previous = os.environ.get("FOCAL_CACHE_DIR")
    os.environ["FOCAL_CACHE_DIR"] = str(tmp_path_factory.mktemp("focal-cache"))
    yield
    if previous is None:
        os.environ.pop("FOCAL_CACHE_DIR", None)
    else:
        os.environ["FOCAL_CACHE_DIR"] = previous
