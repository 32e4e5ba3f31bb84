"""Business hours: weekly opening ranges and holidays in the tenant's timezone.

``weekly`` maps ``mon``..``sun`` to ranges ``"HH:MM-HH:MM"`` (end ``24:00`` allowed; a range
never crosses midnight: write ``22:00-24:00`` and ``00:00-02:00`` on the next day).
:func:`range_problems` says what is wrong with a day's ranges (validate time);
:func:`is_open` and :func:`next_open` answer for an instant (turn and scheduling time),
DST-correct through :mod:`zoneinfo`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-(([01]\d|2[0-3]):([0-5]\d)|24:00)$")


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def parse_range(text: str) -> tuple[int, int] | None:
    """``"09:00-12:30"`` → (540, 750) minutes of the day; None when malformed or empty."""
    if not _RANGE.match(text):
        return None
    start, end = (_minutes(part) for part in text.split("-"))
    return (start, end) if start < end else None


def range_problems(ranges: Sequence[str]) -> list[str]:
    problems: list[str] = []
    parsed: list[tuple[int, int, str]] = []
    for text in ranges:
        found = parse_range(text)
        if found is None:
            problems.append(
                f"'{text}' is not an opening range; write HH:MM-HH:MM with the start before "
                "the end, e.g. 09:00-12:30 (24:00 may end a day; a range never crosses midnight)"
            )
        else:
            parsed.append((*found, text))
    parsed.sort()
    for (_, end, first), (start, _, second) in itertools.pairwise(parsed):
        if start < end:
            problems.append(f"'{first}' and '{second}' overlap; merge them into one range")
    return problems


def date_problem(text: str) -> str | None:
    try:
        date.fromisoformat(text)
    except ValueError:
        return f"'{text}' is not a date; write YYYY-MM-DD, e.g. 2026-12-25"
    return None if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else f"'{text}': write YYYY-MM-DD"


@dataclass(frozen=True, slots=True)
class Hours:
    zone: ZoneInfo
    weekly: dict[int, list[tuple[int, int]]]  # weekday (0 = Monday) -> minute ranges
    holidays: frozenset[date]

    @classmethod
    def of(cls, spec: Mapping[str, object]) -> Hours:
        """From the JSON form of a tenant's ``businessHours``."""
        weekly_raw = spec.get("weekly") or {}
        assert isinstance(weekly_raw, Mapping)
        weekly: dict[int, list[tuple[int, int]]] = {}
        for day, ranges in weekly_raw.items():
            parsed = [r for text in ranges if (r := parse_range(text)) is not None]
            weekly[DAYS.index(day)] = sorted(parsed)
        holidays = spec.get("holidays") or []
        assert isinstance(holidays, list)
        return cls(
            ZoneInfo(str(spec["timezone"])),
            weekly,
            frozenset(date.fromisoformat(h) for h in holidays),
        )

    def is_open(self, when: datetime) -> bool:
        local = when.astimezone(self.zone)
        if local.date() in self.holidays:
            return False
        minute = local.hour * 60 + local.minute
        return any(s <= minute < e for s, e in self.weekly.get(local.weekday(), []))

    def next_open(self, when: datetime, *, horizon_days: int = 370) -> datetime | None:
        """``when`` if open then, else the first opening instant after it (None if the
        business never opens within ``horizon_days``)."""
        if self.is_open(when):
            return when
        local = when.astimezone(self.zone)
        for offset in range(horizon_days + 1):
            day = local.date() + timedelta(days=offset)
            if day in self.holidays:
                continue
            for start, _end in self.weekly.get(day.weekday(), []):
                wall = datetime.combine(day, time(start // 60, start % 60), self.zone)
                # a wall-clock time skipped by a DST jump normalises to the real instant
                opening = datetime.fromtimestamp(wall.timestamp(), self.zone)
                if opening > when and self.is_open(opening):
                    return opening
        return None
