"""Tool gateways: how a call reaches the outside world.

``internal``: a Python callable registered by name (the examples' tools get fakes; tests and
simulate use stubs). ``http``: a POST of the args as JSON to the tool's endpoint (a template
over ``args``, rendered in the sandbox), with ``Authorization: Bearer <secret>`` read from the
environment variable the tool's ``auth.secretRef`` names, an ``Idempotency-Key`` header (the
sha256 of the call's idempotency key) on every non-pure call, and the tool's ``timeout``. A secret
never appears in a result, an error or a log line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from runtime.durations import parse_duration
from runtime.tools.keys import header_value, idempotency_key

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


class GatewayError(Exception):
    """The call did not produce a result; the message is safe to show and to audit."""


class Gateway(Protocol):
    def call(self, name: str, spec: Mapping[str, Any], args: Mapping[str, Any]) -> Any: ...


class InternalGateway:
    """Python callables by registered name (``gateway.endpoint`` names one)."""

    def __init__(self, functions: Mapping[str, Callable[[dict[str, Any]], Any]] | None = None):
        self.functions: dict[str, Callable[[dict[str, Any]], Any]] = dict(functions or {})

    def register(self, name: str, function: Callable[[dict[str, Any]], Any]) -> None:
        self.functions[name] = function

    def call(self, name: str, spec: Mapping[str, Any], args: Mapping[str, Any]) -> Any:
        endpoint = str((spec.get("gateway") or {}).get("endpoint") or name)
        function = self.functions.get(endpoint)
        if function is None:
            raise GatewayError(f"no internal tool registered as '{endpoint}'")
        try:
            return function(dict(args))
        except GatewayError:
            raise
        except Exception as exc:
            raise GatewayError(f"{type(exc).__name__}: {exc}") from exc


class HttpGateway:
    """POST the args as JSON to the rendered endpoint; the JSON response is the result."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = environ if environ is not None else os.environ

    def call(self, name: str, spec: Mapping[str, Any], args: Mapping[str, Any]) -> Any:
        import httpx

        gateway = spec.get("gateway") or {}
        try:
            url = _ENV.from_string(str(gateway.get("endpoint", ""))).render(args=args)
        except Exception as exc:
            raise GatewayError(f"endpoint of '{name}' does not render: {exc}") from exc
        headers = {"Content-Type": "application/json"}
        if spec.get("effect") != "pure":  # a repeat with this key is the same call
            headers["Idempotency-Key"] = header_value(idempotency_key(name, spec, args))
        secret_ref = (gateway.get("auth") or {}).get("secretRef")
        secret = None
        if secret_ref:
            secret = self.environ.get(secret_ref)
            if not secret:
                raise GatewayError(
                    f"environment variable {secret_ref} (the tool's secret) is not set"
                )
            headers["Authorization"] = f"Bearer {secret}"
        timeout = parse_duration(str(spec.get("timeout", "10s"))) / 1000
        try:
            response = httpx.post(url, json=dict(args), headers=headers, timeout=timeout)
        except httpx.TimeoutException:
            raise GatewayError(f"'{name}' timed out after {timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise GatewayError(_scrub(f"'{name}' failed: {type(exc).__name__}", secret)) from None
        if response.status_code >= 400:
            raise GatewayError(f"'{name}' answered HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise GatewayError(f"'{name}' answered with something that is not JSON") from None


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text
