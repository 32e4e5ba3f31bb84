"""The runtime's HTTP server (FastAPI): health, metrics and the resolved configuration."""

from runtime.server.app import create_app

__all__ = ["create_app"]
