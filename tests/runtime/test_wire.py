"""runtime.snapshot._wire: the shortcuts are exact, and what cannot be carried over is refused."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import cache
from typing import Annotated, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from runtime import durations, spec
from runtime.snapshot._wire import SHORTCUTS, dump_plan, wire_type

DURATION = (durations._check,)
DEBOUNCE = (durations._check, spec._debounce_range)
AMOUNT = (spec._decimal_text,)


@cache
def rust_match(pattern: str) -> Callable[[str], bool]:
    """Does pydantic-core's regex engine (the one the shortcut runs on) match ``text``?"""
    adapter = TypeAdapter(Annotated[str, Field(pattern=pattern)])

    def match(text: str) -> bool:
        try:
            adapter.validate_python(text)
        except ValidationError:
            return False
        return True

    return match


def chain_result(chain: tuple[Callable[..., Any], ...], value: Any) -> Any:
    """What the validators give for ``value``, or the ValueError they raise."""
    try:
        for validator in chain:
            value = validator(value)
    except ValueError as exc:
        return exc
    return value


def assert_exact(chain: tuple[Callable[..., Any], ...], text: str) -> None:
    """The shortcut property: a match is accepted by the chain and comes out unchanged."""
    if rust_match(SHORTCUTS[chain])(text):
        assert chain_result(chain, text) == text


def test_every_shortcut_is_tested_here() -> None:
    assert set(SHORTCUTS) == {DURATION, DEBOUNCE, AMOUNT}


@settings(max_examples=500, deadline=None)
@given(
    st.from_regex(SHORTCUTS[DURATION], fullmatch=True)
    | st.text(alphabet="0123456789msdh ", max_size=12)
)
def test_the_duration_shortcut_is_exact(text: str) -> None:
    assert_exact(DURATION, text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=8))
def test_the_shortcuts_are_exact_on_any_text(text: str) -> None:
    assert_exact(DURATION, text)
    assert_exact(DEBOUNCE, text)
    assert_exact(AMOUNT, text)


def test_the_debounce_shortcut_is_exact_on_its_whole_language() -> None:
    # Its alternatives are "0", three or four digits + "ms", one digit + "s": all listed here.
    candidates = ["0", *(f"{n:0{w}d}ms" for w in (3, 4) for n in range(10**w))]
    candidates += [f"{n}s" for n in range(10)]
    matched = [c for c in candidates if rust_match(SHORTCUTS[DEBOUNCE])(c)]
    assert len(matched) == 1 + 800 + 2001 + 3
    for text in matched:
        assert chain_result(DEBOUNCE, text) == text


@settings(max_examples=500, deadline=None)
@given(
    st.from_regex(SHORTCUTS[AMOUNT], fullmatch=True)
    | st.text(alphabet="0123456789.-+eE", max_size=30)
)
def test_the_amount_shortcut_is_exact(text: str) -> None:
    assert_exact(AMOUNT, text)


@pytest.mark.parametrize(
    "text", ["0", "10.99", "100", "0.5", "999999999999999.999999999999", "0.000000000001"]
)
def test_the_amount_shortcut_takes_canonical_amounts(text: str) -> None:
    assert rust_match(SHORTCUTS[AMOUNT])(text)
    assert chain_result(AMOUNT, text) == text == format(Decimal(text).normalize(), "f")


@pytest.mark.parametrize(
    "text", ["10.50", "010", "1e2", "-1", " 1", "1.", ".5", "1" * 16, "0." + "0" * 12 + "1"]
)
def test_the_amount_shortcut_leaves_the_rest_to_the_validator(text: str) -> None:
    assert not rust_match(SHORTCUTS[AMOUNT])(text)


# --- the derivation refuses what it cannot carry over -------------------------------------


class Stripping(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    name: str


class Wrapped(BaseModel):
    name: str

    @model_validator(mode="wrap")
    @classmethod
    def _wrap(cls, data: Any, handler: Any) -> Any:
        return handler(data)


class WithInfo(BaseModel):
    name: str

    @field_validator("name")
    @classmethod
    def _name(cls, v: str, info: ValidationInfo) -> str:
        return v


class Inner(BaseModel):
    x: int


class Outer(BaseModel):
    inner: Inner

    @model_validator(mode="after")
    def _check(self) -> Outer:
        return self


class Renamed(BaseModel):
    name: str = Field(validation_alias="n")


@pytest.mark.parametrize("model", [Stripping, Wrapped, WithInfo, Outer, Renamed])
def test_the_derivation_refuses_what_it_cannot_carry_over(model: type[BaseModel]) -> None:
    with pytest.raises(TypeError, match="wire"):
        wire_type(model)


class Priced(BaseModel):
    amount: Annotated[int, PlainSerializer(str)]


def test_a_dump_plan_refuses_serialisers() -> None:
    with pytest.raises(TypeError, match="wire"):
        dump_plan(Priced)


def test_dump_plans_match_model_dump() -> None:
    for layer in (
        {"llm": {"temperature": 1, "maxTokens": 5}, "turn": None, "language": "en"},
        {"turn": {"debounce": "0", "max_burst": 3, "cancelInFlight": None}},
        {},
    ):
        model = spec.Settings.model_validate(layer)
        wire = TypeAdapter(wire_type(spec.Settings)).validate_python(layer)
        dumped = model.model_dump(mode="json", by_alias=True, exclude_none=True)
        assert dump_plan(spec.Settings)(wire) == dumped
        assert list(dump_plan(spec.Settings)(wire) or {}) == list(dumped)  # same key order
