"""The spec models of every kind, defined once.

The compiler validates authored YAML with these models (wrapped in the envelope of
``focalctl.bundle.models``) and the runtime validates snapshots with the very same ones, so the
two can never disagree. Python attributes are snake_case; the YAML/JSON names are the camelCase
aliases from the bundle language. Settings models are *partial layers*: every field is optional,
and the hierarchy is merged with :func:`merge_settings`; :class:`EffectiveSettings` validates a
fully merged result (invariant 10: ranges hold after resolution, not only per level).
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from runtime.durations import Duration, parse_duration
from runtime.hours import date_problem, range_problems
from runtime.slots import slot_problems

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,62}$"
STEP_ID_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
SLOT_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
BCP47_PATTERN = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
ENV_VAR_PATTERN = r"^[A-Z_][A-Z0-9_]*$"

CHANNEL_TYPES = ("whatsapp", "sms", "email", "webchat", "voice", "slack", "api")
ChannelType = Literal["whatsapp", "sms", "email", "webchat", "voice", "slack", "api"]
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
StepId = Annotated[str, Field(pattern=STEP_ID_PATTERN)]
SlotName = Annotated[str, Field(pattern=SLOT_PATTERN)]

#: Turns per minute and burst per tenant tier, unless the tenant's ``rateLimit`` overrides them.
TIER_LIMITS: dict[str, tuple[int, int]] = {
    "free": (60, 10),
    "pro": (600, 50),
    "enterprise": (6000, 200),
}


class SpecModel(BaseModel):
    """Base of every spec model: unknown keys are errors, objects are immutable.

    ``defer_build``: a model's validator is built on its first use, not at import, so a
    command that validates a few objects (a warm plan) does not pay for every kind (~40 ms).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    def to_json(self) -> dict[str, Any]:
        """The camelCase JSON form, without unset optional values."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# --- settings -------------------------------------------------------------------------------


def _debounce_range(text: str) -> str:
    ms = parse_duration(text)
    if ms != 0 and not 200 <= ms <= 3000:
        raise ValueError(f"debounce must be 0 or between 200ms and 3s, got '{text}'")
    return text


Debounce = Annotated[Duration, AfterValidator(_debounce_range)]


class LlmSettings(SpecModel):
    model: str | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, alias="maxTokens", ge=1, le=200_000)
    system_prompt: str | None = Field(None, alias="systemPrompt")


class TurnSettings(SpecModel):
    debounce: Debounce | None = None
    max_burst: int | None = Field(None, alias="maxBurst", ge=1, le=50)
    cancel_in_flight: Literal["never", "safe"] | None = Field(None, alias="cancelInFlight")


class Settings(SpecModel):
    llm: LlmSettings | None = None
    turn: TurnSettings | None = None
    language: str | None = Field(None, pattern=BCP47_PATTERN)
    persona: str | None = None


class EffectiveLlm(SpecModel):
    model: str
    temperature: float = Field(ge=0, le=2)
    max_tokens: int = Field(alias="maxTokens", ge=1, le=200_000)
    system_prompt: str | None = Field(None, alias="systemPrompt")


class EffectiveTurn(SpecModel):
    debounce: Debounce
    max_burst: int = Field(alias="maxBurst", ge=1, le=50)
    cancel_in_flight: Literal["never", "safe"] = Field(alias="cancelInFlight")


class EffectiveSettings(SpecModel):
    """A fully resolved settings block: every field present and in range."""

    llm: EffectiveLlm
    turn: EffectiveTurn
    language: str = Field(pattern=BCP47_PATTERN)
    persona: str | None = None


#: The bottom of the settings chain; compiled into every snapshot so the runtime needs no code default.
GLOBAL_SETTINGS_DEFAULTS: dict[str, Any] = {
    "llm": {"model": "default", "temperature": 0.7, "maxTokens": 1024},
    "turn": {"debounce": "0", "maxBurst": 10, "cancelInFlight": "safe"},
    "language": "en",
}


def merge_settings(*layers: dict[str, Any] | None) -> dict[str, Any]:
    """Merge camelCase settings layers: later wins, maps merge key by key, lists replace.

    ``None`` values and missing keys never override what an earlier layer set.
    """
    out: dict[str, Any] = {}
    for layer in layers:
        if layer:
            _merge_into(out, layer)
    return out


def _merge_into(base: dict[str, Any], layer: dict[str, Any]) -> None:
    for key, value in layer.items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged = dict(base[key])
            _merge_into(merged, value)
            base[key] = merged
        elif isinstance(value, dict):
            fresh: dict[str, Any] = {}
            _merge_into(fresh, value)
            base[key] = fresh
        else:
            base[key] = list(value) if isinstance(value, list) else value


# --- tenant ---------------------------------------------------------------------------------


class RateLimit(SpecModel):
    per_minute: int = Field(alias="perMinute", ge=1)
    burst: int | None = Field(None, ge=1)


_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class QuietHours(SpecModel):
    start: str
    end: str
    timezone: str

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, v: str) -> str:
        if not _CLOCK.match(v):
            raise ValueError(f"'{v}' is not a time of day; write HH:MM, e.g. 21:00")
        return v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        return iana_zone(v)


def iana_zone(v: str) -> str:
    """``v`` if it names an IANA time zone, else a ValueError with a did-you-mean."""
    try:
        zoneinfo.ZoneInfo(v)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        close = difflib.get_close_matches(v, sorted(zoneinfo.available_timezones()), n=1)
        hint = f"did you mean '{close[0]}'?" if close else "e.g. Europe/Paris"
        raise ValueError(f"'{v}' is not an IANA time zone; {hint}") from exc
    return v


def _opening_ranges(v: list[str]) -> list[str]:
    problems = range_problems(v)
    if problems:
        raise ValueError("; ".join(problems))
    return v


def _iso_date(v: str) -> str:
    problem = date_problem(v)
    if problem:
        raise ValueError(problem)
    return v


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
OpeningRanges = Annotated[list[str], AfterValidator(_opening_ranges)]
IsoDate = Annotated[str, AfterValidator(_iso_date)]


class BusinessHours(SpecModel):
    """When the business is open, in its own timezone (``now.businessOpen``; goals with
    ``withinBusinessHours`` wait for it)."""

    timezone: Annotated[str, AfterValidator(iana_zone)]
    weekly: dict[Weekday, OpeningRanges] = Field(default_factory=dict)
    holidays: list[IsoDate] = Field(default_factory=list)


class Outbound(SpecModel):
    require_consent: bool = Field(False, alias="requireConsent")
    quiet_hours: QuietHours | None = Field(None, alias="quietHours")


class LintRule(SpecModel):
    """A lint rule turned off or given another severity for this tenant, and why."""

    severity: Literal["off", "info", "warning", "error"]
    reason: str = Field(min_length=1)


LintCode = Annotated[str, Field(pattern=r"^FOC9[0-9]{2}$")]


class TenantSpec(SpecModel):
    display_name: str | None = Field(None, alias="displayName")
    business_hours: BusinessHours | None = Field(None, alias="businessHours")
    tier: Literal["free", "pro", "enterprise"] = "free"
    rate_limit: RateLimit | None = Field(None, alias="rateLimit")
    defaults: Settings | None = None
    outbound: Outbound = Field(default_factory=Outbound)
    channels: list[ChannelType] = Field(default_factory=list)
    lint: dict[LintCode, LintRule] = Field(default_factory=dict)  # never in the snapshot


# --- agent ----------------------------------------------------------------------------------


def catalog_selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """An agent's ``catalog`` label selector: an offering is selected when its labels include
    every ``key: value`` of the selector (an empty selector selects every offering). The one
    definition the compiler's checks and the runtime's brain share."""
    return all(labels.get(key) == value for key, value in selector.items())


class AgentSpec(SpecModel):
    display_name: str | None = Field(None, alias="displayName")
    enabled: bool = True
    settings: Settings | None = None
    channels: list[Name] = Field(default_factory=list)
    tools: list[Name] = Field(default_factory=list)
    scenarios: list[Name] = Field(default_factory=list)
    goals: list[Name] = Field(default_factory=list)
    catalog: dict[str, str] = Field(default_factory=dict)


# --- scenario and steps ---------------------------------------------------------------------


class Entry(SpecModel):
    step: StepId
    when: str | None = None


class Transition(SpecModel):
    to: StepId
    when: str | None = None
    priority: int = Field(0, ge=-100, le=100)


class Checkpoint(SpecModel):
    description: str


#: What templates and conditions find in ``now`` (the brain provides exactly these):
#: ISO instant, local date, local time, weekday (mon..sun) in the tenant's timezone, and
#: ``businessOpen`` where the tenant has ``businessHours``.
NOW_FIELDS = ("iso", "date", "time", "weekday", "businessOpen")

#: A binding's phase in its step: before ``say``, with it, or after it.
PHASES = ("before", "during", "after")


class ToolBinding(SpecModel):
    tool: Name
    at: Literal["before", "during", "after"] = "during"
    when: str | None = None  # a condition expression: the binding runs only if it holds
    args: dict[str, Any] = Field(default_factory=dict)
    depends_on: list[Name] = Field(default_factory=list, alias="dependsOn")
    save_as: SlotName | None = Field(None, alias="saveAs")


SlotType = Literal[
    "string", "number", "integer", "boolean", "date", "datetime", "time", "email", "phone", "enum"
]


class TypedSlot(SpecModel):
    """A slot the step asks for, with the rules its value must meet (:mod:`runtime.slots`)."""

    name: SlotName
    type: SlotType = "string"
    values: list[str] | None = None
    pattern: str | None = None
    min: float | int | str | None = None
    max: float | int | str | None = None
    region: str | None = Field(None, pattern=r"^[A-Z]{2}$")
    required: bool = True
    prompt: str | None = None
    retries: int = Field(2, ge=0, le=10)

    @model_validator(mode="before")
    @classmethod
    def _usable(cls, data: Any) -> Any:
        # A before validator on the raw mapping: the runtime's wire validator runs it without
        # building a model per slot (an after validator would need one).
        problems = slot_problems(data)
        if problems:
            raise ValueError("; ".join(problems))
        return data


def _bare_slot(value: Any) -> Any:
    """A bare slot name is a string slot: ``order_id`` is ``{name: order_id}``."""
    return {"name": value} if isinstance(value, str) else value


Slot = Annotated[
    TypedSlot, BeforeValidator(_bare_slot, json_schema_input_type=SlotName | TypedSlot)
]


#: The key of the ``say`` variant used where no profile or channel-type variant applies.
SAY_DEFAULT = "default"


class StepSpec(SpecModel):
    id: StepId
    # A template, or variants keyed by channel profile name, channel type and "default"
    # (profile beats type beats default).
    say: str | dict[str, str] | None = None
    settings: Settings | None = None
    collects: list[Slot] = Field(default_factory=list)
    tools: list[ToolBinding] = Field(default_factory=list)
    transitions: list[Transition] = Field(default_factory=list)
    checkpoint: Checkpoint | None = None
    terminal: bool = False


class StandaloneStepSpec(StepSpec):
    """A step in its own document (``kind: Step``), attached to ``scenario``."""

    scenario: Name


class Move(SpecModel):
    """A step id renamed since the last release: live conversations on ``from`` move to
    ``to`` instead of restarting the scenario."""

    from_: StepId = Field(alias="from")
    to: StepId


class ScenarioSpec(SpecModel):
    entry: Entry
    settings: Settings | None = None
    tags: list[str] = Field(default_factory=list)
    steps: list[StepSpec] = Field(default_factory=list)
    moved: list[Move] = Field(default_factory=list)


# --- channels -------------------------------------------------------------------------------


class Capabilities(SpecModel):
    markdown: bool | None = None
    buttons: bool | None = None
    media: bool | None = None
    typing: bool | None = None
    delivery_receipts: bool | None = Field(None, alias="deliveryReceipts")
    outbound: bool | None = None
    interruptible: bool | None = None
    max_message_length: int | None = Field(None, alias="maxMessageLength", ge=1)


class ChannelRateLimit(SpecModel):
    per_minute: int = Field(alias="perMinute", ge=1)


class ChannelFormat(SpecModel):
    greeting: str | None = None
    signature: str | None = None
    split: Literal["truncate", "split"] | None = None


class Auth(SpecModel):
    secret_ref: str = Field(alias="secretRef", pattern=ENV_VAR_PATTERN)


class Delivery(SpecModel):
    """Where this profile's outbound messages are handed over: an HTTP endpoint that receives
    each message as JSON (the same body as ``serve --outbound``), bearer-authenticated with the
    secret the environment variable ``auth.secretRef`` holds."""

    endpoint: str
    auth: Auth | None = None
    timeout: Duration = "5s"
    retries: int = Field(2, ge=0, le=10)

    @field_validator("endpoint")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not re.match(r"^https?://[^\s/?#]+", v):
            raise ValueError(f"'{v}' is not an http(s) URL, e.g. https://hooks.example.com/wa")
        return v


class ChannelProfileSpec(SpecModel):
    channel: ChannelType
    capabilities: Capabilities | None = None
    settings: Settings | None = None  # its place in the chain: after the agent's
    rate_limit: ChannelRateLimit | None = Field(None, alias="rateLimit")
    fallback: list[Name] = Field(default_factory=list)
    format: ChannelFormat | None = None
    delivery: Delivery | None = None  # else the runtime's default (serve --outbound URL)


def _channel(
    max_len: int | None,
    per_minute: int,
    *,
    markdown: bool = False,
    buttons: bool = False,
    media: bool = False,
    typing: bool = False,
    receipts: bool = False,
    outbound: bool = True,
    interruptible: bool = False,
    split: str = "split",
) -> dict[str, Any]:
    return {
        "capabilities": {
            "markdown": markdown,
            "buttons": buttons,
            "media": media,
            "typing": typing,
            "deliveryReceipts": receipts,
            "outbound": outbound,
            "interruptible": interruptible,
            "maxMessageLength": max_len,
        },
        "rateLimit": {"perMinute": per_minute},
        "fallback": [],
        "format": {"split": split},
    }


#: Built-in defaults per channel type (bundle.md), filled into every ChannelProfile at compile time.
#: slack and api are not given in the design: slack follows webchat (markdown, 40,000 chars is
#: Slack's message limit), api is a plain synchronous integration (no debounce, no limit).
CHANNEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "whatsapp": _channel(
        4096, 60, markdown=True, buttons=True, media=True, typing=True, receipts=True
    ),
    "sms": _channel(160, 30, receipts=True),
    "email": _channel(None, 10, markdown=True, media=True, receipts=True),
    "webchat": _channel(
        10000, 60, markdown=True, buttons=True, media=True, typing=True, outbound=False
    ),
    "voice": _channel(None, 30, interruptible=True, outbound=True, split="truncate"),
    "slack": _channel(40000, 60, markdown=True, buttons=True, media=True, typing=True),
    "api": _channel(None, 600, outbound=False),
}

#: The settings layer a channel type contributes below the tenant's (its burst window): the
#: "channel" level of the chain, stored once per profile in the snapshot as ``builtinTurn``.
CHANNEL_TURN_DEFAULTS: dict[str, dict[str, Any]] = {
    "whatsapp": {"debounce": "1200ms"},
    "sms": {"debounce": "800ms"},
    "email": {"debounce": "0"},
    "webchat": {"debounce": "600ms"},
    "voice": {"debounce": "0"},
    "slack": {"debounce": "600ms"},
    "api": {"debounce": "0"},
}

#: Fields that moved, per spec model: authored at the old place, they get this hint.
MOVED_FIELDS: dict[str, dict[str, str]] = {
    "ChannelProfileSpec": {
        "turn": "a channel profile's settings are a full settings block now: write "
        "'settings: {turn: {...}}' instead of 'turn: {...}'",
    },
}


def fill_channel_defaults(spec_json: dict[str, Any]) -> dict[str, Any]:
    """An authored ChannelProfile (camelCase JSON) merged over its channel type's defaults.

    ``maxMessageLength: null`` written explicitly keeps "unlimited" (it is not an override).
    """
    base = CHANNEL_DEFAULTS[spec_json["channel"]]
    merged = merge_settings(base, spec_json)
    merged["channel"] = spec_json["channel"]
    return merged


# --- tools ----------------------------------------------------------------------------------


#: Tools the runtime itself provides (``gateway: {type: builtin, endpoint: NAME}``): they read
#: the snapshot the turn runs on, so they are pure. ``offerings.search`` ranks the agent's
#: catalog (its selector, the turn's channel profile) for ``query``; up to ``limit`` (default
#: 3) results, each offering with its score, display name, price and the FAQ it matched.
BUILTIN_TOOLS = ("offerings.search",)


class Gateway(SpecModel):
    type: Literal["http", "internal", "composio", "builtin"]
    endpoint: str
    auth: Auth | None = None

    @model_validator(mode="before")
    @classmethod
    def _builtin(cls, data: Any) -> Any:
        # before, on the raw mapping: the runtime's wire validator runs it as is
        if isinstance(data, dict) and data.get("type") == "builtin":
            endpoint = data.get("endpoint")
            if isinstance(endpoint, str) and endpoint not in BUILTIN_TOOLS:
                known = ", ".join(BUILTIN_TOOLS)
                raise ValueError(f"'{endpoint}' is not a built-in tool (built-ins: {known})")
            if data.get("auth") is not None:
                raise ValueError("a built-in tool runs inside the runtime: remove its auth")
        return data


class Confirmation(SpecModel):
    required: bool = False
    prompt: str | None = None


class ToolEffectSpec(SpecModel):
    description: str | None = None
    gateway: Gateway | None = None
    effect: Literal["pure", "idempotent", "compensatable", "irreversible"]
    compensation: Name | None = None
    confirmation: Confirmation = Field(default_factory=Confirmation)
    idempotency_key: list[str] = Field(default_factory=list, alias="idempotencyKey")
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    timeout: Duration = "10s"

    @model_validator(mode="before")
    @classmethod
    def _builtin_is_pure(cls, data: Any) -> Any:
        if isinstance(data, dict):
            gateway, effect = data.get("gateway"), data.get("effect")
            builtin = isinstance(gateway, dict) and gateway.get("type") == "builtin"
            if builtin and isinstance(effect, str) and effect != "pure":
                raise ValueError(
                    f"a built-in tool only reads the snapshot: its effect is pure, not {effect}"
                )
        return data

    @field_validator("parameters")
    @classmethod
    def _json_schema_object(cls, v: dict[str, Any]) -> dict[str, Any]:
        if v.get("type") != "object":
            raise ValueError("parameters must be a JSON Schema with type: object")
        props = v.get("properties", {})
        if not isinstance(props, dict):
            raise ValueError("parameters.properties must be a mapping of parameter name to schema")
        req = v.get("required", [])
        if not isinstance(req, list) or not all(isinstance(r, str) for r in req):
            raise ValueError("parameters.required must be a list of parameter names")
        return v


# --- offerings ------------------------------------------------------------------------------


def _decimal_text(v: Any) -> str:
    if isinstance(v, bool):
        raise ValueError("amount must be a number")
    try:
        d = Decimal(str(v))
    except InvalidOperation as exc:
        raise ValueError(f"amount '{v}' is not a number") from exc
    if not d.is_finite() or d < 0:
        raise ValueError("amount must be a finite number >= 0")
    return format(d.normalize(), "f")


Amount = Annotated[Any, AfterValidator(_decimal_text), PlainSerializer(str, return_type=str)]


class Price(SpecModel):
    amount: Amount
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    period: Literal["once", "month", "year"] = "once"


class Faq(SpecModel):
    q: str
    a: str


class OfferingSpec(SpecModel):
    type: Literal["product", "service", "plan", "tier"]
    display_name: str = Field(alias="displayName")
    description: str | None = None
    price: Price | None = None
    attributes: dict[str, str | int | float | bool] = Field(default_factory=dict)
    channels: list[Name] = Field(default_factory=list)
    faq: list[Faq] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


# --- goals ----------------------------------------------------------------------------------


class Trigger(SpecModel):
    scenario: Name
    reached_step: StepId | None = Field(None, alias="reachedStep")
    left_without_step: StepId | None = Field(None, alias="leftWithoutStep")

    @model_validator(mode="after")
    def _exactly_one(self) -> Trigger:
        if (self.reached_step is None) == (self.left_without_step is None):
            raise ValueError("a trigger names exactly one of reachedStep or leftWithoutStep")
        return self


def _signed_duration(v: str) -> str:
    parse_duration(v.removeprefix("-").removeprefix("+"))
    return v


SignedDuration = Annotated[str, AfterValidator(_signed_duration)]


class RelativeTo(SpecModel):
    """Due at a date/datetime slot's value plus ``offset`` (e.g. ``-24h``: a day before)."""

    slot: SlotName
    offset: SignedDuration = "0"


class CancelWhen(SpecModel):
    scenario: Name
    reached_step: StepId = Field(alias="reachedStep")


class GoalSpec(SpecModel):
    agent: Name
    trigger: Trigger
    when: str | None = None  # a condition checked at trigger time
    action: Literal["follow_up", "reminder", "notification"]
    after: Duration = "24h"
    relative_to: RelativeTo | None = Field(None, alias="relativeTo")
    cancel_when: list[CancelWhen] = Field(default_factory=list, alias="cancelWhen")
    within_business_hours: bool = Field(False, alias="withinBusinessHours")
    message: str
    channels: list[Name] = Field(default_factory=list)
    max_attempts: int = Field(3, alias="maxAttempts", ge=1, le=20)
    retry_after: Duration = Field("1h", alias="retryAfter")
    expires_after: Duration = Field("7d", alias="expiresAfter")


# --- simulations ----------------------------------------------------------------------------
# A Simulation is a test of the bundle, not part of it: validated like every kind, never
# compiled into a snapshot. Its expectation keys are snake_case, as the design writes them.


class ToolStub(SpecModel):
    """What a tool answers in a simulation: ``result`` (JSON), or ``error``, after ``delay``;
    with ``match``, only for calls whose args contain those values."""

    tool: Name
    match: dict[str, Any] = Field(default_factory=dict)
    result: Any = None
    error: str | None = None
    delay: Duration | None = None

    @model_validator(mode="after")
    def _one_answer(self) -> ToolStub:
        if self.error is not None and self.result is not None:
            raise ValueError("a stub answers with a result or an error, not both")
        return self


class DeliveryStub(SpecModel):
    """A channel profile's deliveries in a simulation: refused when sent (``fail``), or taken
    and then answered by a delivery ``receipt`` (``failed`` walks the fallback ladder)."""

    channel: Name
    fail: bool = False
    receipt: Literal["delivered", "read", "failed"] | None = None

    @model_validator(mode="after")
    def _one(self) -> DeliveryStub:
        if self.fail == (self.receipt is not None):
            raise ValueError("a delivery stub says fail: true, or the receipt that arrives")
        return self


class ToolExpectation(SpecModel):
    tool: Name
    args: dict[str, Any] = Field(default_factory=dict)  # a subset the call's args contain


class ScheduledExpectation(SpecModel):
    goal: Name
    state: Literal["pending", "fired", "cancelled", "expired", "failed"] = "pending"


class DeliveredExpectation(SpecModel):
    channel: Name
    parts: int | None = Field(None, ge=1)


class Expectation(SpecModel):
    step: StepId | None = None
    scenario: Name | None = None
    status: Literal["processed", "coalesced", "duplicate", "queued"] | None = None
    turns: int | None = Field(None, ge=0)
    reply_contains: str | None = None
    reply_matches: str | None = None
    tool_called: ToolExpectation | None = None
    tool_not_called: Name | None = None
    scheduled: ScheduledExpectation | None = None
    delivered: DeliveredExpectation | None = None
    no_reply: bool | None = None
    confirmation_asked: bool | None = None

    @field_validator("reply_matches")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value


class ScriptEvent(SpecModel):
    """One event: a ``user`` message, a ``redeliver`` of an earlier one, a ``burst`` of
    messages 100 ms apart, or a ``wait``; ``after`` is the simulated time since the previous
    event."""

    user: str | None = None
    redeliver: Literal["previous"] | None = None
    burst: list[str] | None = Field(None, min_length=1, max_length=50)
    wait: Duration | None = None
    after: Duration = "30s"
    intent: str | None = None
    slots: dict[str, Any] = Field(default_factory=dict)
    expect: Expectation | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ScriptEvent:
        given = [k for k in ("user", "redeliver", "burst", "wait") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "a script event is exactly one of user, redeliver, burst or wait"
                + (f" (this one has {' and '.join(given)})" if given else "")
            )
        return self


class SimulationSpec(SpecModel):
    agent: Name
    channel: Name
    start: AwareDatetime
    profile: dict[str, Any] = Field(default_factory=dict)
    stubs: list[ToolStub] = Field(default_factory=list)
    deliveries: list[DeliveryStub] = Field(default_factory=list)
    script: list[ScriptEvent] = Field(min_length=1)


KIND_SPECS: dict[str, type[SpecModel]] = {
    "Tenant": TenantSpec,
    "Agent": AgentSpec,
    "Scenario": ScenarioSpec,
    "Step": StandaloneStepSpec,
    "ChannelProfile": ChannelProfileSpec,
    "ToolEffect": ToolEffectSpec,
    "Offering": OfferingSpec,
    "Goal": GoalSpec,
    "Simulation": SimulationSpec,
}
