"""The outbound port: how a message leaves for a customer on a channel profile.

``RecordingOutbound`` keeps what was sent (tests, simulate) and can be told that a profile
fails; ``WebhookOutbound`` POSTs each message, as JSON with the profile, the conversation, the
formatted parts and the message id its delivery receipts name, to the profile's own
``delivery.endpoint`` (bearer-authenticated with the secret its ``auth.secretRef`` names, its
``timeout`` and ``retries``), else to the operator's default webhook (``serve --outbound
URL``, its secret from ``--outbound-key-env``), with backoff between retries. A secret never
appears in an error or a log line.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from runtime.durations import parse_duration


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
        delivery: Mapping[str, Any] | None = None,
    ) -> None:
        """Hand the message over; raises :class:`DeliveryError` when it did not leave.
        ``message_id`` is what the channel's delivery receipts (``POST /v1/receipts``) name;
        ``delivery`` the profile's ``delivery`` block (its endpoint), if it has one."""
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
        delivery: Mapping[str, Any] | None = None,
    ) -> None:
        if profile in self.failing:
            raise DeliveryError(f"delivery on '{profile}' failed (simulated)")
        with self._lock:
            self.sent.append(
                Sent(tenant, conversation, profile, channel, tuple(parts), at, message_id)
            )


class WebhookOutbound:
    """POST to the profile's ``delivery.endpoint``, else to ``url`` (None: only profiles with an
    endpoint can send; the others fail their hop, and the ladder moves on)."""

    def __init__(
        self,
        url: str | None,
        *,
        secret_env: str | None = None,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.5,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.url = url
        self.environ = environ if environ is not None else os.environ
        self.secret = self.environ.get(secret_env) if secret_env else None
        self.timeout, self.retries, self.backoff = timeout, retries, backoff

    def _target(
        self, profile: str, delivery: Mapping[str, Any] | None
    ) -> tuple[str, str | None, float, int]:
        """(endpoint, secret, timeout in s, retries) for a profile."""
        if not delivery:
            if self.url is None:
                raise DeliveryError(
                    f"profile '{profile}' has no delivery endpoint and this runtime no default "
                    "webhook: set its spec.delivery.endpoint, or serve --outbound URL"
                )
            return self.url, self.secret, self.timeout, self.retries
        secret = None
        ref = (delivery.get("auth") or {}).get("secretRef")
        if ref:
            secret = self.environ.get(str(ref))
            if not secret:
                raise DeliveryError(
                    f"environment variable {ref} (profile '{profile}''s delivery secret) is not set"
                )
        timeout = parse_duration(str(delivery.get("timeout", "5s"))) / 1000
        return str(delivery["endpoint"]), secret, timeout, int(delivery.get("retries", 2))

    def send(
        self,
        tenant: str,
        conversation: str,
        profile: str,
        channel: str,
        parts: Sequence[str],
        at: datetime,
        message_id: str | None = None,
        delivery: Mapping[str, Any] | None = None,
    ) -> None:
        import httpx

        url, secret, timeout, retries = self._target(profile, delivery)
        body: dict[str, Any] = {
            "tenant": tenant,
            "conversation_id": conversation,
            "profile": profile,
            "channel": channel,
            "parts": list(parts),
            "at": at.isoformat(),
            "message_id": message_id,
        }
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        problem = "no attempt"
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = httpx.post(url, json=body, headers=headers, timeout=timeout)
            except httpx.TimeoutException:
                problem = f"timed out after {timeout:g} s"
                continue
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
                continue
            if response.status_code < 300:
                return
            problem = f"HTTP {response.status_code}"
            if response.status_code < 500 and response.status_code != 429:
                break  # the webhook refused this message: retrying will not help
        where = "the profile's delivery endpoint" if delivery else "the outbound webhook"
        raise DeliveryError(f"{where} did not take the message ({problem})")
