"""Typed slots: the rules a step's ``collects`` item sets, checked once and applied per value.

A slot is a bare name (any non-empty text) or ``{name, type, values, pattern, min, max,
region, ...}``. :func:`rule_problems` says what is wrong with a rule itself (validate time,
called by the spec model); :func:`coerce` turns a value arriving in a turn into the slot's
canonical JSON value, or rejects it with a reason the customer can be told (turn time, called
by the brain). Canonical values are JSON: dates and datetimes are ISO strings (datetimes in
the tenant's timezone), times ``HH:MM``, phones E.164, emails normalised. :func:`coerce` is
idempotent: a canonical value coerces to itself.

Bounds (``min``/``max``) are numbers for ``number``/``integer``, lengths for ``string``,
``HH:MM`` for ``time``, and for ``date``/``datetime`` an ISO value or ``today``/``now`` with an
optional signed duration (``today+1d``, ``now-2h``), read in the tenant's timezone.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from runtime.durations import parse_duration

SLOT_TYPES = (
    "string",
    "number",
    "integer",
    "boolean",
    "date",
    "datetime",
    "time",
    "email",
    "phone",
    "enum",
)
_BOUNDED = frozenset({"string", "number", "integer", "date", "datetime", "time"})
_TRUE = frozenset({"yes", "y", "true", "1", "on", "yeah", "yep", "sure", "si", "sí", "oui", "ja"})
_FALSE = frozenset({"no", "n", "false", "0", "off", "nope", "nah", "non", "nein"})
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:[.,]\d+)?|[.,]\d+)$")
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s*([ap]\.?m\.?)?$", re.IGNORECASE)
_RELATIVE = re.compile(r"^(today|now)\s*(?:([+-])\s*(\S+))?$")
_RULE_KEYS = ("values", "pattern", "min", "max", "region")
MAX_TEXT = 2000  # longer answers are rejected, never stored


@dataclass(frozen=True, slots=True)
class SlotRule:
    name: str
    type: str = "string"
    values: tuple[str, ...] = ()
    pattern: str | None = None
    min: Any = None
    max: Any = None
    region: str | None = None

    @classmethod
    def of(cls, item: str | Mapping[str, Any]) -> SlotRule:
        """From a bare name or a typed slot (its JSON form)."""
        if isinstance(item, str):
            return cls(item)
        return cls(
            name=item["name"],
            type=item.get("type") or "string",
            values=tuple(item.get("values") or ()),
            pattern=item.get("pattern"),
            min=item.get("min"),
            max=item.get("max"),
            region=item.get("region"),
        )


@dataclass(frozen=True, slots=True)
class Coerced:
    """A value accepted (``ok``, canonical ``value``) or rejected (``reason``)."""

    ok: bool
    value: Any = None
    reason: str | None = None


def _reject(reason: str) -> Coerced:
    return Coerced(False, None, reason)


# --- the rule itself (validate time) ---------------------------------------------------------


def rule_problems(rule: SlotRule) -> list[str]:
    """What is wrong with a rule, as sentences; empty when it is usable."""
    problems: list[str] = []
    if rule.type == "enum":
        if not rule.values:
            problems.append("an enum slot needs 'values' (the answers it accepts)")
        folded = [v.strip().casefold() for v in rule.values]
        dupes = sorted({v for v in folded if folded.count(v) > 1})
        if dupes:
            problems.append(f"'values' repeats {', '.join(dupes)} (compared ignoring case)")
        if any(not v.strip() for v in rule.values):
            problems.append("'values' has an empty answer")
    elif rule.values:
        problems.append(f"'values' is only for type: enum (this slot is {rule.type})")
    if rule.pattern is not None:
        if rule.type != "string":
            problems.append(f"'pattern' is only for type: string (this slot is {rule.type})")
        else:
            try:
                re.compile(rule.pattern)
            except re.error as exc:
                problems.append(f"'pattern' is not a valid regular expression: {exc}")
    if rule.region is not None:
        if rule.type != "phone":
            problems.append("'region' is only for type: phone")
        else:
            import phonenumbers

            if rule.region not in phonenumbers.SUPPORTED_REGIONS:
                problems.append(f"'region' {rule.region!r} is not an ISO 3166 region code")
    if rule.min is None and rule.max is None:
        return problems
    if rule.type not in _BOUNDED:
        problems.append(f"'min'/'max' do not apply to type: {rule.type}")
        return problems
    anchor = datetime(2000, 1, 1, tzinfo=UTC)  # relative bounds compare by their offsets
    low, high = (_bound(rule, b, UTC, anchor) for b in (rule.min, rule.max))
    for which, raw, parsed in (("min", rule.min, low), ("max", rule.max, high)):
        if raw is not None and isinstance(parsed, str):
            problems.append(f"'{which}' {parsed}")
    if (
        low is not None
        and high is not None
        and not isinstance(low, str)
        and not isinstance(high, str)
        and low > high
    ):
        problems.append(f"min {rule.min!r} is greater than max {rule.max!r}: no value can pass")
    return problems


def slot_problems(data: Any) -> list[str]:
    """:func:`rule_problems` of a typed slot's raw mapping (before its fields are validated:
    anything not of the right shape is left to field validation, which reports it)."""
    if not isinstance(data, Mapping):
        return []
    kind = data.get("type", "string")
    if kind != "enum" and all(data.get(k) is None for k in _RULE_KEYS):
        return []  # a slot with no rules of its own: nothing can be wrong with them
    values = data.get("values") or ()
    if kind not in SLOT_TYPES or not isinstance(values, list | tuple):
        return []
    if not all(isinstance(v, str) for v in values):
        return []
    pattern, region = data.get("pattern"), data.get("region")
    if not isinstance(pattern, str | None) or not isinstance(region, str | None):
        return []
    low, high = data.get("min"), data.get("max")
    if not all(isinstance(b, int | float | str | None) for b in (low, high)):
        return []
    return rule_problems(
        SlotRule(str(data.get("name")), kind, tuple(values), pattern, low, high, region)
    )


def _bound(rule: SlotRule, raw: Any, tz: tzinfo, now: datetime) -> Any:
    """A bound as a comparable value; a ``str`` is a problem to report instead."""
    if raw is None:
        return None
    kind = rule.type
    if kind in ("number", "integer", "string"):
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            return "must be a number" if kind != "string" else "must be a length (an integer)"
        if kind == "string" and (not isinstance(raw, int) or raw < 0):
            return "must be a length (an integer >= 0)"
        return raw
    if not isinstance(raw, str):
        return f"must be text ({_bound_form(kind)})"
    if kind == "time":
        parsed = _parse_time(raw)
        return parsed if parsed is not None else f"must be HH:MM, got {raw!r}"
    relative = _RELATIVE.match(raw.strip())
    if relative:
        word, sign, amount = relative.groups()
        if (word == "today") != (kind == "date"):
            return f"must be {_bound_form(kind)}, got {raw!r}"
        offset = timedelta(0)
        if amount is not None:
            try:
                offset = timedelta(milliseconds=parse_duration(amount))
            except ValueError as exc:
                return f"has a bad offset: {exc}"
            if kind == "date" and offset % timedelta(days=1):
                return "offsets a date by whole days only (e.g. today+1d)"
            offset = -offset if sign == "-" else offset
        local = now.astimezone(tz)
        return local.date() + offset if kind == "date" else local + offset
    try:
        if kind == "date":
            return date.fromisoformat(raw)
        value = datetime.fromisoformat(raw)
        return value if value.tzinfo else value.replace(tzinfo=tz)
    except ValueError:
        return f"must be {_bound_form(kind)}, got {raw!r}"


def _bound_form(kind: str) -> str:
    return {
        "date": "an ISO date or today[+/-Nd]",
        "datetime": "an ISO datetime or now[+/-duration]",
        "time": "HH:MM",
    }.get(kind, "a value")


# --- values (turn time) -----------------------------------------------------------------------


def coerce(rule: SlotRule, value: Any, *, now: datetime, tz: tzinfo = UTC) -> Coerced:
    """The slot's canonical value for ``value``, or why it was rejected. Never raises."""
    if value is None:
        return _reject("no value was given")
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            return _reject(f"the answer is longer than {MAX_TEXT} characters")
        value = value.strip()
        if not value:
            return _reject("the answer is empty")
    try:
        result = _COERCERS[rule.type](rule, value, now, tz)
    except (ValueError, TypeError, OverflowError) as exc:  # a parser's own refusal
        return _reject(str(exc) or f"not a valid {rule.type}")
    if not result.ok:
        return result
    return _within_bounds(rule, result, now, tz)


def _within_bounds(rule: SlotRule, result: Coerced, now: datetime, tz: tzinfo) -> Coerced:
    if rule.min is None and rule.max is None:
        return result
    value = result.value
    if rule.type == "string":
        measured: Any = len(value)
    elif rule.type == "date":
        measured = date.fromisoformat(value)
    elif rule.type == "datetime":
        measured = datetime.fromisoformat(value)
    elif rule.type == "time":
        measured = _parse_time(value)
    else:
        measured = value
    low, high = (_bound(rule, b, tz, now) for b in (rule.min, rule.max))
    unit = " characters" if rule.type == "string" else ""
    if low is not None and not isinstance(low, str) and measured < low:
        return _reject(f"must be at least {_show(low)}{unit}")
    if high is not None and not isinstance(high, str) and measured > high:
        return _reject(f"must be at most {_show(high)}{unit}")
    return result


def _show(bound: Any) -> str:
    if isinstance(bound, datetime):
        return bound.isoformat(timespec="minutes")
    if isinstance(bound, date | time):
        return bound.isoformat()
    return str(bound)


def _string(rule: SlotRule, value: Any, now: datetime, tz: tzinfo) -> Coerced:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return _reject("expected text")
    text = str(value)
    if rule.pattern is not None and re.fullmatch(rule.pattern, text) is None:
        return _reject("does not have the expected format")
    return Coerced(True, text)


def _number(rule: SlotRule, value: Any, now: datetime, tz: tzinfo) -> Coerced:
    if isinstance(value, bool):
        return _reject("expected a number")
    if isinstance(value, str):
        if not _NUMBER.match(value):
            return _reject("expected a number")
        value = float(value.replace(",", "."))
    if not isinstance(value, int | float) or not math.isfinite(value):
        return _reject("expected a finite number")
    if rule.type == "integer" and value != int(value):
        return _reject("expected a whole number")
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        value = int(value)
    return Coerced(True, value)


def _boolean(rule: SlotRule, value: Any, now: datetime, tz: tzinfo) -> Coerced:
    if isinstance(value, bool):
        return Coerced(True, value)
    word = str(value).strip().casefold()
    if word in _TRUE:
        return Coerced(True, True)
    if word in _FALSE:
        return Coerced(True, False)
    return _reject("expected yes or no")


def _date(rule: SlotRule, value: Any, now: datetime, tz: tzinfo) -> Coerced:
    if isinstance(value, datetime):
        return Coerced(True, value.astimezone(tz).date().isoformat())
    if isinstance(value, date):
        return Coerced(True, value.isoformat())
    if not isinstance(value, str):
        return _reject("expected a date (YYYY-MM-DD)")
    word = value.casefold()
    today = now.astimezone(tz).date()
    if word in ("today", "tomorrow"):
        return Coerced(True, (today + timedelta(days=word == "tomorrow")).isoformat())
    try:
        return Coerced(True, date.fromisoformat(value).isoformat())
    except ValueError:
        return _reject("expected a date (YYYY-MM-DD)")


def _datetime(rule: SlotRule, value: Any, now: datetime, tz: tzinfo) -> Coerced:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return _reject("expected a date and time (YYYY-MM-DDTHH:MM, ISO 8601)")
    if not isinstance(value, datetime):
        return _reject("expected a date and time (YYYY-MM-DDTHH:MM, ISO 8601)")
    aware = value if value.tzinfo else value.replace(tzinfo=tz)
    # Through UTC: a wall time that a DST jump skips becomes the instant it names
    # (02:30 on a spring-forward night is 03:30), so the canonical value coerces to itself.
    return Coerced(True, aware.astimezone(UTC).astimezone(tz).isoformat())


def _time(rule: SlotRule, value: Any, now: datetime, tz: tzinfo) -> Coerced:
    parsed = value if isinstance(value, time) else _parse_time(str(value))
    if parsed is None:
        return _reject("expected a time (HH:MM)")
    return Coerced(True, parsed.isoformat(timespec="seconds" if parsed.second else "minutes"))


def _parse_time(text: str) -> time | None:
    match = _TIME.match(text.strip())
    if not match:
        return None
    hour, minute, second = (int(g) if g else 0 for g in match.groups()[:3])
    meridiem = (match.group(4) or "").replace(".", "").casefold()
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def _email(rule: SlotRule, value: Any, now: datetime, tz: tzinfo) -> Coerced:
    from email_validator import EmailNotValidError, validate_email

    if not isinstance(value, str):
        return _reject("expected an email address")
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        return _reject(f"not a valid email address: {exc}")
    return Coerced(True, checked.normalized)


def _phone(rule: SlotRule, value: Any, now: datetime, tz: tzinfo) -> Coerced:
    import phonenumbers

    if isinstance(value, bool) or not isinstance(value, str | int):
        return _reject("expected a phone number")
    text = str(value)
    try:
        number = phonenumbers.parse(text, rule.region)
    except phonenumbers.NumberParseException:
        hint = "" if rule.region else " with its country code (e.g. +44 20 7946 0958)"
        return _reject(f"expected a phone number{hint}")
    if not phonenumbers.is_valid_number(number):
        return _reject("that is not a valid phone number")
    return Coerced(True, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _enum(rule: SlotRule, value: Any, now: datetime, tz: tzinfo) -> Coerced:
    text = str(value).strip().casefold() if not isinstance(value, bool) else ""
    for allowed in rule.values:
        if allowed.strip().casefold() == text:
            return Coerced(True, allowed)
    close = difflib.get_close_matches(text, [v.casefold() for v in rule.values], n=1)
    options = ", ".join(rule.values)
    if close:
        canonical = next(v for v in rule.values if v.casefold() == close[0])
        return _reject(f"expected one of {options} (did you mean {canonical}?)")
    return _reject(f"expected one of {options}")


_COERCERS = {
    "string": _string,
    "number": _number,
    "integer": _number,
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
    "time": _time,
    "email": _email,
    "phone": _phone,
    "enum": _enum,
}
assert set(_COERCERS) == set(SLOT_TYPES)
