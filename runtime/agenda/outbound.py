"""The outbound port: how a message leaves for a customer on a channel profile.

``RecordingOutbound`` keeps what was sent (tests, simulate) and can be told that a profile
fails; ``WebhookOutbound`` POSTs each message to an operator's webhook (``serve --outbound
URL``) with the profile, the conversation, the formatted parts and the message id its
delivery receipts name, bearer-authenticated with a
secret from the environment, with a timeout and retries with backoff.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class DeliveryError(Exception):
    """The message did not leave; safe to show and to audit."""


@dataclass(frozen=True, slots=True)
class Sent:
    tenant: str
    conversation: str
    profile: str
    channel: str  # the profile's channel type
    parts: tuple[str, ...]
    at: datetime
    message_id: str | None = None  # what the delivery receipts for it name


class Outbound(Protocol):
    def send(
        self,
        tenant: str,
        conversation: str,
        profile: str,
        channel: str,
        parts: Sequence[str],
        at: datetime,
        message_id: str | None = None,
    ) -> None:
        """Hand the message over; raises :class:`DeliveryError` when it did not leave.
        ``message_id`` is what the channel's delivery receipts (``POST /v1/receipts``) name."""
        ...


@dataclass
class RecordingOutbound:
    failing: Collection[str] = ()  # profile names whose deliveries fail
    sent: list[Sent] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(
        self,
        tenant: str,
        conversation: str,
        profile: str,
        channel: str,
        parts: Sequence[str],
        at: datetime,
        message_id: str | None = None,
    ) -> None:
        if profile in self.failing:
            raise DeliveryError(f"delivery on '{profile}' failed (simulated)")
        with self._lock:
            self.sent.append(
                Sent(tenant, conversation, profile, channel, tuple(parts), at, message_id)
            )


class WebhookOutbound:
    def __init__(
        self,
        url: str,
        *,
        secret_env: str | None = None,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.5,
    ) -> None:
        self.url = url
        self.secret = os.environ.get(secret_env) if secret_env else None
        self.timeout, self.retries, self.backoff = timeout, retries, backoff

    def send(
        self,
        tenant: str,
        conversation: str,
        profile: str,
        channel: str,
        parts: Sequence[str],
        at: datetime,
        message_id: str | None = None,
    ) -> None:
        import httpx

        body: dict[str, Any] = {
            "tenant": tenant,
            "conversation_id": conversation,
            "profile": profile,
            "channel": channel,
            "parts": list(parts),
            "at": at.isoformat(),
            "message_id": message_id,
        }
        headers = {"Authorization": f"Bearer {self.secret}"} if self.secret else {}
        problem = "no attempt"
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = httpx.post(self.url, json=body, headers=headers, timeout=self.timeout)
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
                continue
            if response.status_code < 300:
                return
            problem = f"HTTP {response.status_code}"
            if response.status_code < 500 and response.status_code != 429:
                break  # the webhook refused this message: retrying will not help
        raise DeliveryError(f"the outbound webhook did not take the message ({problem})")
