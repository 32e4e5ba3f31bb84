"""Entry point: importing the command modules registers their commands on the app."""

from __future__ import annotations

from focalctl.cli import authoring  # noqa: F401  validate, schema, init
from focalctl.cli.app import app


def main() -> None:
    app()


if __name__ == "__main__":
    main()
