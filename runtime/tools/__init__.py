"""Tools: the ToolEffectRegistry every call goes through, and the gateways calls travel by."""

from runtime.tools.gateways import Gateway, GatewayError, HttpGateway, InternalGateway
from runtime.tools.keys import idempotency_key
from runtime.tools.registry import (
    CallResult,
    Outcome,
    ToolEffectRegistry,
    args_problems,
    needs_confirmation,
)

__all__ = [
    "CallResult",
    "Gateway",
    "GatewayError",
    "HttpGateway",
    "InternalGateway",
    "Outcome",
    "ToolEffectRegistry",
    "args_problems",
    "idempotency_key",
    "needs_confirmation",
]
