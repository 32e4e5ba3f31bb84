"""Typed slots: rule problems (validate time) and coercion (turn time), unit and property tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.slots import SLOT_TYPES, Coerced, SlotRule, coerce, rule_problems

NOW = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # already 29 March in Madrid (DST starts)
MADRID = ZoneInfo("Europe/Madrid")


def ok(rule: SlotRule, value: Any, tz: Any = UTC) -> Any:
    result = coerce(rule, value, now=NOW, tz=tz)
    assert result.ok, result.reason
    return result.value


def rejected(rule: SlotRule, value: Any, tz: Any = UTC) -> str:
    result = coerce(rule, value, now=NOW, tz=tz)
    assert not result.ok and result.value is None, result
    assert result.reason
    return result.reason


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        (SlotRule("a", "enum"), "needs 'values'"),
        (SlotRule("a", "enum", ("Yes", "yes ")), "repeats yes"),
        (SlotRule("a", "string", ("x",)), "only for type: enum"),
        (SlotRule("a", "integer", pattern="x"), "only for type: string"),
        (SlotRule("a", "string", pattern="("), "not a valid regular expression"),
        (SlotRule("a", "integer", min=10, max=2), "greater than max"),
        (SlotRule("a", "string", min=-1), "length"),
        (SlotRule("a", "boolean", min=1), "do not apply"),
        (SlotRule("a", "date", min="now"), "ISO date or today"),
        (SlotRule("a", "date", min="today+2h"), "whole days"),
        (SlotRule("a", "date", min="today+1d", max="today"), "greater than max"),
        (SlotRule("a", "datetime", max="2026-02-30T10:00"), "ISO datetime"),
        (SlotRule("a", "time", min="25:00"), "HH:MM"),
        (SlotRule("a", "string", region="GB"), "only for type: phone"),
        (SlotRule("a", "phone", region="XX"), "not an ISO 3166"),
    ],
)
def test_impossible_or_meaningless_rules_are_reported(rule: SlotRule, problem: str) -> None:
    assert any(problem in p for p in rule_problems(rule)), rule_problems(rule)


def test_sound_rules_have_no_problems() -> None:
    for rule in [
        SlotRule("a"),
        SlotRule("a", "enum", ("cleaning", "whitening")),
        SlotRule("a", "integer", min=1, max=12),
        SlotRule("a", "date", min="today+1d", max="today+90d"),
        SlotRule("a", "datetime", min="now", max="2027-01-01T00:00:00+00:00"),
        SlotRule("a", "time", min="08:00", max="18:30"),
        SlotRule("a", "string", pattern=r"[A-Z]-\d+", min=3, max=12),
        SlotRule("a", "phone", region="ES"),
    ]:
        assert rule_problems(rule) == []


def test_values_are_coerced_to_their_canonical_form() -> None:
    assert ok(SlotRule("n", "number"), "12,5") == 12.5
    assert ok(SlotRule("n", "number"), 3.0) == 3
    assert ok(SlotRule("n", "integer"), " 7 ") == 7
    assert ok(SlotRule("b", "boolean"), "Yes") is True
    assert ok(SlotRule("b", "boolean"), "nope") is False
    assert ok(SlotRule("d", "date"), "today", MADRID) == "2026-03-29"
    assert ok(SlotRule("d", "date"), "tomorrow") == "2026-03-29"
    assert ok(SlotRule("t", "datetime"), "2026-03-29T10:00", MADRID) == "2026-03-29T10:00:00+02:00"
    assert ok(SlotRule("t", "datetime"), "2026-03-28T10:00", MADRID) == "2026-03-28T10:00:00+01:00"
    assert ok(SlotRule("t", "time"), "9:30 pm") == "21:30"
    assert ok(SlotRule("e", "email"), "Ana@Example.com") == "Ana@example.com"
    assert ok(SlotRule("p", "phone"), "+44 20 7946 0958") == "+442079460958"
    assert ok(SlotRule("p", "phone", region="ES"), "612 34 56 78") == "+34612345678"
    assert ok(SlotRule("k", "enum", ("Cleaning", "Whitening")), " whitening") == "Whitening"


def test_bad_values_are_rejected_with_a_reason_the_customer_can_read() -> None:
    assert "whole number" in rejected(SlotRule("n", "integer"), "2.5")
    assert "number" in rejected(SlotRule("n", "number"), "twelve")
    assert "number" in rejected(SlotRule("n", "number"), True)
    assert "yes or no" in rejected(SlotRule("b", "boolean"), "maybe")
    assert "YYYY-MM-DD" in rejected(SlotRule("d", "date"), "2026-02-30")
    assert "country code" in rejected(SlotRule("p", "phone"), "612 34 56 78")
    assert "valid phone" in rejected(SlotRule("p", "phone"), "+44 20")
    assert "email" in rejected(SlotRule("e", "email"), "ana@")
    assert "did you mean Whitening" in rejected(
        SlotRule("k", "enum", ("Cleaning", "Whitening")), "whitenin"
    )
    assert "format" in rejected(SlotRule("s", pattern=r"O-\d+"), "order 12")
    assert "empty" in rejected(SlotRule("s"), "   ")
    assert "longer than" in rejected(SlotRule("s"), "x" * 5000)


def test_bounds_hold_in_the_tenants_timezone() -> None:
    future = SlotRule("d", "date", min="today+1d")
    assert "at least 2026-03-30" in rejected(future, "2026-03-29", MADRID)  # today in Madrid
    assert ok(future, "2026-03-29") == "2026-03-29"  # tomorrow in UTC
    assert "at most 12" in rejected(SlotRule("n", "integer", min=1, max=12), 13)
    assert "at least 3 characters" in rejected(SlotRule("s", min=3), "ab")
    assert "at least 08:00" in rejected(SlotRule("t", "time", min="08:00"), "7am")
    soon = SlotRule("t", "datetime", min="now+2h")
    assert "at least" in rejected(soon, (NOW + timedelta(hours=1)).isoformat())


VALUES: dict[str, st.SearchStrategy[Any]] = {
    "string": st.text(min_size=1, max_size=40),
    "number": st.one_of(
        st.integers(-(10**9), 10**9), st.floats(allow_nan=False, allow_infinity=False)
    ),
    "integer": st.integers(-(10**12), 10**12),
    "boolean": st.sampled_from([True, False, "yes", "no", "Y", "n", "true", "0"]),
    "date": st.dates(date(1900, 1, 1), date(2100, 1, 1)),
    "datetime": st.datetimes(
        datetime(1970, 1, 2), datetime(2100, 1, 1), timezones=st.sampled_from([UTC, MADRID])
    ),
    "time": st.times().map(lambda t: t.replace(microsecond=0)),
    "email": st.sampled_from(["ana@example.com", "B.O+x@Sub.Example.org", "z@exämple.de"]),
    "phone": st.sampled_from(["+34 612 34 56 78", "+1 415-555-2671", "+442079460958"]),
    "enum": st.sampled_from(["Cleaning", "whitening", " CHECK-UP "]),
}
ENUM = ("Cleaning", "Whitening", "Check-up")


@pytest.mark.parametrize("kind", SLOT_TYPES)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_coercion_is_idempotent_and_never_raises(kind: str, data: st.DataObject) -> None:
    rule = SlotRule("x", kind, ENUM if kind == "enum" else ())
    tz = data.draw(st.sampled_from([UTC, MADRID, ZoneInfo("America/New_York")]))
    value = data.draw(VALUES[kind])
    first = coerce(rule, value, now=NOW, tz=tz)
    if kind != "string" or value.strip():
        assert first.ok, (value, first.reason)
    if first.ok:
        again = coerce(rule, first.value, now=NOW, tz=tz)
        assert again == Coerced(True, first.value), (value, first.value, again)


@pytest.mark.parametrize("kind", SLOT_TYPES)
@settings(max_examples=100, deadline=None)
@given(junk=st.one_of(st.text(max_size=60), st.binary(max_size=20), st.lists(st.integers())))
def test_junk_is_rejected_or_accepted_but_never_raises(kind: str, junk: Any) -> None:
    rule = SlotRule("x", kind, ENUM if kind == "enum" else ())
    result = coerce(rule, junk, now=NOW, tz=MADRID)
    assert result.ok or result.reason


def test_a_wall_time_skipped_by_dst_becomes_the_instant_it_names() -> None:
    """Found by hypothesis: Madrid jumped from 02:00 to 03:00 on 6 April 1980."""
    rule = SlotRule("t", "datetime")
    first = ok(rule, "1980-04-06T02:00", MADRID)
    assert first == "1980-04-06T03:00:00+02:00"
    assert ok(rule, first, MADRID) == first
