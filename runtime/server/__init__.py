"""The runtime's HTTP server (FastAPI): health, metrics and the resolved configuration."""

from runtime.server.app import ROUTES, Runtime, create_app
from runtime.server.errors import HEADER, ApiError

__all__ = ["HEADER", "ROUTES", "ApiError", "Runtime", "create_app"]
