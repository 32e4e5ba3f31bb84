"""Business hours in the tenant's timezone: open/closed, holidays, next opening across DST."""

from __future__ import annotations

from datetime import UTC, datetime

from runtime.hours import Hours, parse_range, range_problems

SPEC = {
    "timezone": "Europe/London",
    "weekly": {
        "mon": ["08:30-12:30", "13:30-18:00"],
        "sat": ["09:00-12:00"],
        "sun": ["00:30-02:30"],
    },
    "holidays": ["2026-12-28"],
}
HOURS = Hours.of(SPEC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_open_and_closed_in_local_time() -> None:
    assert HOURS.is_open(utc(2026, 1, 5, 8, 30))  # Monday 08:30 GMT
    assert not HOURS.is_open(utc(2026, 1, 5, 12, 45))  # lunch
    assert HOURS.is_open(utc(2026, 6, 1, 7, 30))  # Monday 08:30 BST = 07:30 UTC
    assert not HOURS.is_open(utc(2026, 6, 1, 17, 30))  # 18:30 BST
    assert not HOURS.is_open(utc(2026, 12, 28, 10, 0))  # a Monday, but a holiday


def test_next_open_skips_lunch_nights_and_holidays() -> None:
    assert HOURS.next_open(utc(2026, 1, 5, 12, 45)) == utc(2026, 1, 5, 13, 30)
    assert HOURS.next_open(utc(2026, 12, 27, 12, 0)) == utc(2027, 1, 2, 9, 0)  # Sat after hol.
    open_now = utc(2026, 1, 5, 9, 0)
    assert HOURS.next_open(open_now) == open_now
    assert Hours.of({"timezone": "UTC", "weekly": {}}).next_open(open_now) is None


def test_an_opening_inside_the_dst_gap_starts_when_the_clock_allows() -> None:
    # 29 March 2026: at 01:00 GMT London jumps to 02:00 BST, so 00:30-02:30 local is
    # 00:30 GMT (00:30 UTC) to 02:30 BST (01:30 UTC), and it still opens at 00:30 UTC.
    assert HOURS.next_open(utc(2026, 3, 29, 0, 0)) == utc(2026, 3, 29, 0, 30)
    assert HOURS.is_open(utc(2026, 3, 29, 1, 15))  # 02:15 BST


def test_ranges_are_well_formed_and_do_not_overlap() -> None:
    assert parse_range("09:00-24:00") == (540, 1440)
    assert parse_range("17:00-09:00") is None
    assert parse_range("9:00-10:00") is None
    assert range_problems(["09:00-12:00", "13:00-17:00"]) == []
    (problem,) = range_problems(["13:00-17:00", "09:00-13:30"])
    assert "overlap" in problem
