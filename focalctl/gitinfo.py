"""The git commit a bundle is released from: recorded on the release, shown by ``history``.

``git`` runs as a subprocess with a timeout. No git, not a work tree, no commit yet, a timeout or
any other git failure all mean "no git information" (None), never an error: a release does not
depend on git.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from focalctl.bundle.loader import YAML_SUFFIXES

GIT_TIMEOUT = 5.0  # seconds, per git command


@dataclass(frozen=True, slots=True)
class GitInfo:
    commit: str  # HEAD's short sha, "+dirty" when the bundle's files differ from it
    author: str  # HEAD's author, "Name <email>"


def git_info(path: Path, timeout: float = GIT_TIMEOUT) -> GitInfo | None:
    """HEAD of the work tree holding ``path`` (a bundle directory or file), or None."""
    path = path.resolve()
    cwd = path if path.is_dir() else path.parent
    head = _git(cwd, timeout, "log", "-1", "--format=%h%x00%an <%ae>")
    if head is None or "\0" not in head:
        return None
    sha, _, author = head.strip().partition("\0")
    # any change to the bundle's files: modified, staged, deleted or untracked (not ignored)
    # YAML files below the directory, or the file itself (a store or plan beside it is not one)
    files = [f":(glob)**/*{suffix}" for suffix in YAML_SUFFIXES] if path.is_dir() else [path.name]
    status = _git(cwd, timeout, "status", "--porcelain", "--untracked-files=all", "--", *files)
    dirty = status is None or bool(status.strip())  # unknown counts as dirty: never claim clean
    return GitInfo(sha + ("+dirty" if dirty else ""), author)


def _git(cwd: Path, timeout: float, *args: str) -> str | None:
    """git's standard output, or None when git is missing, fails or takes too long."""
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return proc.stdout if proc.returncode == 0 else None
