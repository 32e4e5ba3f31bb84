"""Entry point: importing the command modules registers their commands on the app."""

from __future__ import annotations

import gc
import os
import sys

from focalctl.cli import (
    authoring,  # noqa: F401  validate, schema, init, fmt
    explain,  # noqa: F401  explain
    releases,  # noqa: F401  show, diff
    report,  # noqa: F401  report
    serve,  # noqa: F401  serve
    simulate,  # noqa: F401  simulate
    state,  # noqa: F401  plan, apply, rollback, history, force-unlock
)
from focalctl.cli.app import app


def main() -> None:
    """Run the CLI; an unexpected exception is reported as a bug, without a traceback."""
    try:
        app()
    except Exception as exc:  # pragma: no cover - exercised through a subprocess test
        if os.environ.get("FOCAL_DEBUG") == "1":
            raise
        sys.stderr.write(
            f"focalctl: internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in focalctl, not in your bundle. Re-run with FOCAL_DEBUG=1 for the\n"
            "traceback and report it with the command you ran.\n"
        )
        sys.exit(70)
    finally:
        # The process ends with this command. Freezing what is alive spares the interpreter's
        # final collection a walk over every module and object (~0.2 s of each run's exit);
        # files and connections are closed by the commands themselves, not by finalizers.
        gc.freeze()


if __name__ == "__main__":
    main()
