"""The environment benchmarked processes run in: a user's shell."""

from __future__ import annotations

import os

#: Unset for every benchmarked process. Some sandboxes set PYTHONDONTWRITEBYTECODE, which makes
#: every process compile focalctl from source (about 2× on ``focalctl --help``); a user's Python
#: keeps its bytecode cache. The cache settings would make a cold run warm or a warm one cold.
UNSET = ("PYTHONDONTWRITEBYTECODE", "FOCAL_NO_CACHE", "FOCAL_CACHE_DIR")


def user_env(**extra: str) -> dict[str, str]:
    """This process's environment as a user's shell would have it, colour off, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    return {**env, "NO_COLOR": "1", **extra}
