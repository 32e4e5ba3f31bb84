"""Fixtures for the store/plan/apply tests: a bundle workspace and store URLs for both backends."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A working directory holding a copy of agents.d (tenant demo)."""
    shutil.copytree(REPO / "agents.d", tmp_path / "agents.d")
    return tmp_path


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/state.db"
    return str(request.getfixturevalue("pg_url"))
