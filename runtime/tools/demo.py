"""Internal fake tools for the default bundle and the examples (``gateway.type: internal``,
``endpoint: demo.*``): deterministic answers derived from the args, so a demo or a test can
walk a scenario end to end without any outside service."""

from __future__ import annotations

import hashlib
from typing import Any

from runtime.tools.gateways import InternalGateway

_STATUSES = ("delivered", "shipped", "processing", "delayed")


def _pick(text: str, options: tuple[str, ...]) -> str:
    return options[int(hashlib.sha256(text.encode()).hexdigest(), 16) % len(options)]


def lookup_order(args: dict[str, Any]) -> dict[str, Any]:
    order = str(args.get("order_id", ""))
    status = _pick(order, _STATUSES)
    total = 20 + int(hashlib.sha256(order.encode()).hexdigest()[:4], 16) % 180
    return {"order_id": order, "status": status, "total": float(total), "eta": "in 2 days"}


def issue_refund(args: dict[str, Any]) -> dict[str, Any]:
    ref = hashlib.sha256(str(args.get("order_id")).encode()).hexdigest()[:6].upper()
    return {"refund_id": f"R-{ref}", "amount": args.get("amount")}


def demo_gateway() -> InternalGateway:
    return InternalGateway({"demo.lookup-order": lookup_order, "demo.issue-refund": issue_refund})
