"""Outbound permission: may this tenant send to this customer on this channel profile now?

Consent (when the tenant requires it, the customer's profile says ``consent: true``), quiet
hours in the tenant's timezone (a window may cross midnight; computed on wall-clock time with
zoneinfo, so DST days are right) and the profile's ``outbound`` capability. A refusal says why
and, for quiet hours, when the window opens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Permission:
    allowed: bool
    reason: str | None = None  # no-consent | quiet-hours | no-outbound
    retry_at: datetime | None = None  # for quiet-hours: when the window opens


ALLOWED = Permission(True)


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time
    end: time
    zone: ZoneInfo

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> QuietHours:
        return cls(
            time.fromisoformat(str(spec["start"])),
            time.fromisoformat(str(spec["end"])),
            ZoneInfo(str(spec["timezone"])),
        )

    def contains(self, when: datetime) -> bool:
        local = when.astimezone(self.zone).time().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # crosses midnight

    def ends_after(self, when: datetime) -> datetime:
        """The first instant after ``when`` at which the quiet window is over."""
        local = when.astimezone(self.zone)
        day = local.date()
        for offset in range(3):
            wall = datetime.combine(day + timedelta(days=offset), self.end, self.zone)
            candidate = datetime.fromtimestamp(wall.timestamp(), self.zone)  # real instant
            if candidate > when and not self.contains(candidate):
                return candidate
        return when + timedelta(hours=24)  # unreachable for a valid window


def check(
    tenant: Mapping[str, Any],
    profile_spec: Mapping[str, Any],
    customer: Mapping[str, Any],
    now: datetime,
) -> Permission:
    """``tenant`` and ``profile_spec`` are snapshot specs; ``customer`` the profile fields."""
    outbound = tenant.get("outbound") or {}
    if outbound.get("requireConsent") and customer.get("consent") is not True:
        return Permission(False, "no-consent")
    capabilities = profile_spec.get("capabilities") or {}
    if capabilities.get("outbound") is False:
        return Permission(False, "no-outbound")
    quiet = outbound.get("quietHours")
    if quiet:
        window = QuietHours.of(quiet)
        if window.contains(now):
            return Permission(False, "quiet-hours", window.ends_after(now))
    return ALLOWED
