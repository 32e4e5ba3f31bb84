"""The fallback ladder, walked once for everyone who sends outside a turn.

:func:`walk` offers a message to the profiles of a ladder in order: a profile is skipped when
the snapshot lacks it, when it was already tried for this message (a ladder never loops), when
outbound permission refuses it (consent, quiet hours, ``outbound``) or when its delivery
fails; the message is formatted anew for each profile it is offered to. :func:`expand` makes
the ladder: the first choices, each followed by its profile's ``fallback``. The scheduler walks a
follow-up's ladder when it fires; a ``failed`` delivery receipt walks what is left of it.
Every hop is returned (``{"profile", "result", "at", "error"?}``) for the caller to record.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from runtime.agenda import permission
from runtime.agenda.outbound import DeliveryError
from runtime.brain import CompiledSnapshot
from runtime.channels import format_reply
from runtime.turns.ratelimit import TokenBuckets

# hands (profile name, its spec, parts) over; raises DeliveryError when it did not leave
Send = Callable[[str, Mapping[str, Any], Sequence[str]], None]


@dataclass(slots=True)
class Walk:
    hops: list[dict[str, Any]] = field(default_factory=list)
    sent: tuple[str, str, tuple[str, ...]] | None = None  # profile, channel type, parts
    remaining: tuple[str, ...] = ()  # the profiles after the one that took it, never tried
    reopen: datetime | None = None  # when quiet hours end, if they refused a profile
    limited: bool = False  # a profile's rate limit stopped the walk (reopen: when it has room)

    @property
    def failed(self) -> bool:
        """Whether a profile failed (not only refused for now)."""
        return any(h["result"] in ("failed", "unknown profile") for h in self.hops)


def expand(first: Sequence[str], body: Mapping[str, Any]) -> list[str]:
    """The ladder a message is offered to: each profile of ``first`` (a goal's ``channels``,
    else its agent's), each followed by its own ``fallback`` profiles, depth first, every name
    once. ``[whatsapp, email]`` with whatsapp falling back to sms is whatsapp, sms, email.
    ``body`` is a snapshot's body (:attr:`CompiledSnapshot.body`)."""
    channels = body.get("channels") or {}
    order: dict[str, None] = {}

    def visit(name: str) -> None:
        if name in order:
            return  # a ladder never loops (the compiler refuses cycles; this is the guard)
        order[name] = None
        for nxt in ((channels.get(name) or {}).get("spec") or {}).get("fallback") or ():
            visit(str(nxt))

    for name in first:
        visit(name)
    return list(order)


def walk(
    ladder: Sequence[str],
    text: str,
    snapshot: CompiledSnapshot,
    context: Mapping[str, Any],
    customer: Mapping[str, Any],
    now: datetime,
    send: Send,
    *,
    tried: Collection[str] = (),
    limits: TokenBuckets | None = None,
) -> Walk:
    """Offer ``text`` to ``ladder``'s profiles in order, skipping those in ``tried``, until
    one takes it; ``context`` renders the profiles' greeting and signature.

    With ``limits``, a permitted profile also takes a token of its ``rateLimit.perMinute``
    (key ``outbound:tenant/profile``, a burst of ten seconds' worth, as inbound turns). A
    profile with no room stops the walk: the message waits for the channel it prefers
    (``limited``, ``reopen`` when a token is back) rather than going out on a lower one."""
    out = Walk()
    tenant = snapshot.tenant.get("spec", {})
    at = now.astimezone(UTC).isoformat()
    fresh = [name for name in dict.fromkeys(ladder) if name not in tried]
    for i, name in enumerate(fresh):
        if snapshot.channel(name) is None:
            out.hops.append({"profile": name, "result": "unknown profile", "at": at})
            continue
        profile = snapshot.channel_rendered(name, context)
        allowed = permission.check(tenant, profile, customer, now)
        if not allowed.allowed:
            out.hops.append({"profile": name, "result": allowed.reason, "at": at})
            if allowed.retry_at is not None:
                out.reopen = min(out.reopen or allowed.retry_at, allowed.retry_at)
            continue
        rate = (profile.get("rateLimit") or {}).get("perMinute")
        if limits is not None and isinstance(rate, int) and rate > 0:
            key = f"outbound:{snapshot.tenant.get('name')}/{name}"
            decision = limits.take(key, rate, max(1, rate // 6))
            if not decision.allowed:
                out.hops.append({"profile": name, "result": "rate-limited", "at": at})
                out.limited = True
                out.reopen = now + timedelta(seconds=decision.retry_after)
                return out
        formatted = format_reply(text, profile)
        try:
            send(name, profile, formatted.parts)
        except DeliveryError as exc:
            out.hops.append({"profile": name, "result": "failed", "at": at, "error": str(exc)})
            continue
        out.hops.append(
            {"profile": name, "result": "sent", "at": at, "parts": len(formatted.parts)}
        )
        out.sent = (name, str(profile["channel"]), tuple(formatted.parts))
        out.remaining = tuple(fresh[i + 1 :])
        return out
    return out
