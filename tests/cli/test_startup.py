"""Start-up stays light: help, version and validate never load the store, the server or Redis.

Each command module imports what its command calls inside the command; these runs (real
processes, as users start them) catch an eager import that would slip back in. Times are
measured by ``benchmarks/startup.py``, not here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, focalctl_env

# The store (SQLModel on SQLAlchemy, psycopg), the server (FastAPI, Starlette, uvicorn) and the
# sources and targets (Redis, watchfiles): only plan/apply/.../serve need them.
HEAVY = {
    "sqlalchemy",
    "sqlmodel",
    "psycopg",
    "fastapi",
    "starlette",
    "uvicorn",
    "redis",
    "watchfiles",
}
# The app's help and version need no part of the compiler or the runtime either. (A command's
# help does load pydantic: typer coerces the app's unset options through pydantic adapters.)
COMPILER = {"ruamel", "jinja2", "runtime", "focalctl.bundle", "focalctl.validate"}

# focalctl's entry point, then the top-level packages (and focalctl's sub-packages) that were
# loaded, printed as JSON on the last line of stderr whatever the exit code.
WRAPPER = """
import json, sys
sys.argv[0] = "focalctl"
from focalctl.cli.main import main
try:
    main()
finally:
    loaded = sorted({".".join(m.split(".")[:2]) if m.startswith("focalctl.") else m.split(".")[0]
                     for m in sys.modules})
    sys.stderr.write("\\n" + json.dumps(loaded) + "\\n")
"""


def _loaded(*args: str, cwd: Path, **env: str) -> tuple[int, str, set[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", WRAPPER, *args],
        cwd=cwd,
        env=focalctl_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    *err, last = proc.stderr.rstrip("\n").split("\n")
    return proc.returncode, proc.stdout + "\n".join(err), set(json.loads(last))


@pytest.mark.parametrize("args", [("--help",), ("-h",), ("--version",)])
def test_help_and_version_load_neither_compiler_nor_store(args: tuple[str, ...]) -> None:
    code, out, loaded = _loaded(*args, cwd=REPO)
    assert code == 0, out
    assert "typer" in loaded and "focalctl.cli" in loaded  # the wrapper saw the real run
    assert not loaded & (HEAVY | COMPILER | {"pydantic"}), out


@pytest.mark.parametrize("command", ["plan", "apply", "explain", "serve", "history"])
def test_command_help_loads_neither_compiler_nor_store(command: str) -> None:
    code, out, loaded = _loaded(command, "--help", cwd=REPO)
    assert code == 0 and f"Usage: focalctl {command}" in out, out
    assert not loaded & (HEAVY | COMPILER), out


def test_validate_loads_no_store_server_or_redis(tmp_path: Path) -> None:
    bundle = tmp_path / "agents.d"
    shutil.copytree(REPO / "agents.d", bundle)
    cache = tmp_path / "cache"
    # Cold (no cache), then warm (restored from the cache the first run wrote).
    for _ in range(2):
        code, out, loaded = _loaded(
            "validate", "agents.d", cwd=tmp_path, FOCAL_CACHE_DIR=str(cache)
        )
        assert code == 0 and "are valid" in out, out
        assert {"focalctl.validate", "pydantic"} <= loaded
        assert not loaded & HEAVY, out
    assert list(cache.glob("partial-*.bin"))
