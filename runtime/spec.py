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
from dataclasses import dataclass
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
    """The language model a turn runs on and how it is called."""

    model: str | None = Field(
        None,
        description="Model name, as the runtime's providers know it (global default: default).",
    )
    temperature: float | None = Field(
        None, ge=0, le=2, description="Sampling temperature, 0 to 2 (global default: 0.7)."
    )
    max_tokens: int | None = Field(
        None,
        alias="maxTokens",
        ge=1,
        le=200_000,
        description="Most tokens one reply may use, 1 to 200000 (global default: 1024).",
    )
    system_prompt: str | None = Field(
        None, alias="systemPrompt", description="System prompt (a template)."
    )


class TurnSettings(SpecModel):
    """How messages arriving close together become one turn."""

    debounce: Debounce | None = Field(
        None,
        description="How long to wait for more messages before a turn starts: 0, or 200ms to 3s "
        "(default per channel type, e.g. whatsapp 1200ms).",
        examples=["800ms"],
    )
    max_burst: int | None = Field(
        None,
        alias="maxBurst",
        ge=1,
        le=50,
        description="Most messages folded into one turn, 1 to 50 (global default: 10).",
    )
    cancel_in_flight: Literal["never", "safe"] | None = Field(
        None,
        alias="cancelInFlight",
        description="Whether a new message cancels a running turn: safe (the global default) "
        "cancels it only while no non-pure tool has run in it; never lets it finish.",
    )


class Settings(SpecModel):
    """A settings layer. Resolved per (agent, channel, scenario, step) as built-in channel
    defaults, then tenant defaults, agent, channel profile, scenario and step: later wins, maps
    merge key by key, lists replace."""

    llm: LlmSettings | None = Field(None, description="Language model settings.")
    turn: TurnSettings | None = Field(None, description="Turn-taking settings.")
    language: str | None = Field(
        None,
        pattern=BCP47_PATTERN,
        description="Language of replies, a BCP 47 tag (global default: en).",
        examples=["en-GB"],
    )
    persona: str | None = Field(None, description="Persona the agent speaks as (a template).")


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
    """Turns allowed per tenant, overriding its tier's limits."""

    per_minute: int = Field(alias="perMinute", ge=1, description="Turns per minute.")
    burst: int | None = Field(
        None, ge=1, description="Most turns at once (the token bucket's size; default: the tier's)."
    )


_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class QuietHours(SpecModel):
    """A daily window in which no outbound message is sent."""

    start: str = Field(description="Start of the window, HH:MM.", examples=["21:00"])
    end: str = Field(
        description="End of the window, HH:MM (may be earlier than start: the window spans midnight).",
        examples=["08:00"],
    )
    timezone: str = Field(description="IANA time zone of start and end.", examples=["Europe/Paris"])

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

    timezone: Annotated[str, AfterValidator(iana_zone)] = Field(
        description="IANA time zone of the opening hours.", examples=["Europe/Paris"]
    )
    weekly: dict[Weekday, OpeningRanges] = Field(
        default_factory=dict,
        description='Opening ranges per weekday (mon..sun), e.g. mon: ["09:00-12:30", '
        '"14:00-18:00"]; a day not listed is closed.',
    )
    holidays: list[IsoDate] = Field(
        default_factory=list,
        description="Dates the business is closed all day (ISO dates).",
        examples=[["2026-12-25"]],
    )


class Outbound(SpecModel):
    """Rules for messages the tenant's agents send first (goals: follow-ups, reminders)."""

    require_consent: bool = Field(
        False,
        alias="requireConsent",
        description="Send outbound messages only to customers who consented.",
    )
    quiet_hours: QuietHours | None = Field(
        None, alias="quietHours", description="A daily window with no outbound messages."
    )


class LintRule(SpecModel):
    """A lint rule turned off or given another severity for this tenant, and why."""

    severity: Literal["off", "info", "warning", "error"] = Field(
        description="off silences the rule; info, warning or error report it at that severity."
    )
    reason: str = Field(min_length=1, description="Why this tenant differs (required).")


LintCode = Annotated[str, Field(pattern=r"^FOC9[0-9]{2}$")]


class TenantSpec(SpecModel):
    """A customer organisation (``metadata.name`` is the tenant id); every other object belongs
    to one tenant and references only objects of the same tenant."""

    display_name: str | None = Field(None, alias="displayName", description="Human-readable name.")
    business_hours: BusinessHours | None = Field(
        None,
        alias="businessHours",
        description="When the business is open (now.businessOpen; goals withinBusinessHours).",
    )
    tier: Literal["free", "pro", "enterprise"] = Field(
        "free",
        description="Plan: rate limits of 60, 600 or 6000 turns per minute, burst 10, 50 or 200, "
        "unless rateLimit overrides them.",
    )
    rate_limit: RateLimit | None = Field(
        None, alias="rateLimit", description="Turns per minute and burst, overriding the tier's."
    )
    defaults: Settings | None = Field(
        None, description="Settings for every agent of the tenant (the tenant level of the chain)."
    )
    outbound: Outbound = Field(
        default_factory=Outbound, description="Rules for messages the agents send first."
    )
    channels: list[ChannelType] = Field(
        default_factory=list, description="Channel types the tenant's agents may speak on."
    )
    # never in the snapshot
    lint: dict[LintCode, LintRule] = Field(
        default_factory=dict,
        description="Lint rules (FOC9xx codes) turned off or given another severity for this "
        "tenant, each with a reason.",
    )


# --- agent ----------------------------------------------------------------------------------


def catalog_selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """An agent's ``catalog`` label selector: an offering is selected when its labels include
    every ``key: value`` of the selector (an empty selector selects every offering). The one
    definition the compiler's checks and the runtime's brain share."""
    return all(labels.get(key) == value for key, value in selector.items())


class AgentSpec(SpecModel):
    """A conversational agent: the channels it speaks on, the scenarios it follows, the tools
    it may call and the goals it pursues."""

    display_name: str | None = Field(None, alias="displayName", description="Human-readable name.")
    enabled: bool = Field(True, description="A disabled agent takes no turns.")
    settings: Settings | None = Field(None, description="Settings (the agent level of the chain).")
    channels: list[Name] = Field(
        default_factory=list,
        description="ChannelProfile names the agent speaks on; the first is its default.",
    )
    tools: list[Name] = Field(default_factory=list, description="ToolEffect names it may call.")
    scenarios: list[Name] = Field(
        default_factory=list, description="Scenario names, in priority order."
    )
    goals: list[Name] = Field(default_factory=list, description="Goal names it pursues.")
    catalog: dict[str, str] = Field(
        default_factory=dict,
        description="Offering label selector: offerings whose labels include every key: value "
        "(empty: all of the tenant's offerings).",
        examples=[{"line": "broadband"}],
    )


# --- scenario and steps ---------------------------------------------------------------------


class Entry(SpecModel):
    """Where a conversation enters the scenario."""

    step: StepId = Field(description="The first step's id.")
    when: str | None = Field(
        None,
        description="Condition (an expression) under which the scenario is entered.",
        examples=["intent == 'refund'"],
    )


class Transition(SpecModel):
    """A move to another step of the scenario."""

    to: StepId = Field(description="Id of the target step.")
    when: str | None = Field(
        None,
        description="Condition (an expression); without one the transition always applies.",
        examples=["slots.order_id is defined"],
    )
    priority: int = Field(
        0,
        ge=-100,
        le=100,
        description="Order among transitions that hold, -100 to 100 (higher first).",
    )


class Checkpoint(SpecModel):
    """A point of no return: later steps cannot route back before it."""

    description: str = Field(description="What has happened once the step is reached.")


#: What templates and conditions find in ``now`` (the brain provides exactly these):
#: ISO instant, local date, local time, weekday (mon..sun) in the tenant's timezone, and
#: ``businessOpen`` where the tenant has ``businessHours``.
NOW_FIELDS = ("iso", "date", "time", "weekday", "businessOpen")

#: A binding's phase in its step: before ``say``, with it, or after it.
PHASES = ("before", "during", "after")


class ToolBinding(SpecModel):
    """A tool call made by a step."""

    tool: Name = Field(description="ToolEffect name; the agent must list it in its tools.")
    at: Literal["before", "during", "after"] = Field(
        "during", description="When it runs: before the step's say, with it, or after it."
    )
    # a condition expression: the binding runs only if it holds
    when: str | None = Field(None, description="Condition (an expression): runs only if it holds.")
    args: dict[str, Any] = Field(
        default_factory=dict,
        description="Arguments; string values are templates, rendered then coerced to the types "
        "of the tool's parameters.",
        examples=[{"order_id": "{{ slots.order_id }}"}],
    )
    depends_on: list[Name] = Field(
        default_factory=list,
        alias="dependsOn",
        description="Tools bound in the same step that must run first.",
    )
    save_as: SlotName | None = Field(
        None, alias="saveAs", description="Slot that receives the tool's result."
    )


SlotType = Literal[
    "string", "number", "integer", "boolean", "date", "datetime", "time", "email", "phone", "enum"
]


class TypedSlot(SpecModel):
    """A slot the step asks for, with the rules its value must meet (:mod:`runtime.slots`)."""

    name: SlotName = Field(description="Slot name, read as slots.NAME.")
    type: SlotType = Field("string", description="Type the value is coerced to at turn time.")
    values: list[str] | None = Field(None, description="Allowed values (type enum).")
    pattern: str | None = Field(None, description="Regular expression the value must match.")
    min: float | int | str | None = Field(
        None, description="Smallest value (number, integer, date, datetime, time)."
    )
    max: float | int | str | None = Field(
        None, description="Largest value (number, integer, date, datetime, time)."
    )
    region: str | None = Field(
        None,
        pattern=r"^[A-Z]{2}$",
        description="Region of phone numbers written without a country code (type phone).",
        examples=["FR"],
    )
    required: bool = Field(True, description="The step needs a value before it moves on.")
    prompt: str | None = Field(
        None, description="What to ask when the value is missing or invalid (a template)."
    )
    retries: int = Field(2, ge=0, le=10, description="Times to ask again after an invalid value.")

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
    """A step of a scenario: what the agent says, collects and calls, and where it goes next."""

    id: StepId = Field(
        description="Stable id, unique in the scenario; renaming it is a migration (see moved)."
    )
    # A template, or variants keyed by channel profile name, channel type and "default"
    # (profile beats type beats default).
    say: str | dict[str, str] | None = Field(
        None,
        description="What the agent says (a template), or variants keyed by channel profile "
        "name, channel type and default (profile beats type beats default).",
        examples=[{"default": "Your order number?", "sms": "Order no.?"}],
    )
    settings: Settings | None = Field(None, description="Settings (the step level of the chain).")
    collects: list[Slot] = Field(
        default_factory=list,
        description="Slots the step asks the customer for: a slot name (a string slot) or a "
        "typed slot.",
    )
    tools: list[ToolBinding] = Field(default_factory=list, description="Tool calls of the step.")
    transitions: list[Transition] = Field(
        default_factory=list, description="Where the conversation may go next."
    )
    checkpoint: Checkpoint | None = Field(
        None, description="Marks a point of no return: later steps cannot route back before it."
    )
    terminal: bool = Field(False, description="The scenario ends at this step.")


class StandaloneStepSpec(StepSpec):
    """A step in its own document (``kind: Step``), attached to ``scenario``."""

    scenario: Name = Field(description="Name of the Scenario the step belongs to.")


class Move(SpecModel):
    """A step id renamed since the last release: live conversations on ``from`` move to
    ``to`` instead of restarting the scenario."""

    from_: StepId = Field(alias="from", description="The step's id in the last release.")
    to: StepId = Field(description="Its id now.")


class ScenarioSpec(SpecModel):
    """A conversation flow: an entry and a graph of steps."""

    entry: Entry = Field(description="Where conversations enter the scenario.")
    settings: Settings | None = Field(
        None, description="Settings (the scenario level of the chain)."
    )
    tags: list[str] = Field(default_factory=list, description="Free-form tags.")
    steps: list[StepSpec] = Field(default_factory=list, description="The scenario's steps.")
    moved: list[Move] = Field(
        default_factory=list,
        description="Step ids renamed since the last release: live conversations move from the "
        "old id to the new one.",
    )


# --- channels -------------------------------------------------------------------------------


class Capabilities(SpecModel):
    """What the channel can do; unset fields take the channel type's defaults."""

    markdown: bool | None = Field(None, description="Renders Markdown.")
    buttons: bool | None = Field(None, description="Shows reply buttons.")
    media: bool | None = Field(None, description="Carries images and files.")
    typing: bool | None = Field(None, description="Shows a typing indicator.")
    delivery_receipts: bool | None = Field(
        None, alias="deliveryReceipts", description="Reports delivered and read receipts."
    )
    outbound: bool | None = Field(
        None, description="Can send a message the customer did not prompt (goals, fallbacks)."
    )
    interruptible: bool | None = Field(
        None, description="The customer can interrupt a reply (voice)."
    )
    max_message_length: int | None = Field(
        None,
        alias="maxMessageLength",
        ge=1,
        description="Most characters per message; longer replies are split or cut (null: no limit).",
    )


class ChannelRateLimit(SpecModel):
    """Messages allowed on the profile."""

    per_minute: int = Field(alias="perMinute", ge=1, description="Messages per minute.")


class ChannelFormat(SpecModel):
    """How replies are shaped on the channel."""

    greeting: str | None = Field(
        None, description="Text before each reply, on email only (a template)."
    )
    signature: str | None = Field(None, description="Text after each reply (a template).")
    split: Literal["truncate", "split"] | None = Field(
        None, description="A reply over maxMessageLength is split into parts or truncated."
    )


class Auth(SpecModel):
    """Bearer authentication with a secret from the environment."""

    secret_ref: str = Field(
        alias="secretRef",
        pattern=ENV_VAR_PATTERN,
        description="Name of the environment variable that holds the secret (never the secret).",
        examples=["WA_HOOK_TOKEN"],
    )


class Delivery(SpecModel):
    """Where this profile's outbound messages are handed over: an HTTP endpoint that receives
    each message as JSON (the same body as ``serve --outbound``), bearer-authenticated with the
    secret the environment variable ``auth.secretRef`` holds."""

    endpoint: str = Field(
        description="http(s) URL that receives each message as JSON.",
        examples=["https://hooks.example.com/wa"],
    )
    auth: Auth | None = Field(None, description="Bearer authentication of the requests.")
    timeout: Duration = Field("5s", description="How long one delivery attempt may take.")
    retries: int = Field(2, ge=0, le=10, description="Attempts after a failed one, 0 to 10.")

    @field_validator("endpoint")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not re.match(r"^https?://[^\s/?#]+", v):
            raise ValueError(f"'{v}' is not an http(s) URL, e.g. https://hooks.example.com/wa")
        return v


class ChannelProfileSpec(SpecModel):
    """A channel an agent speaks on: its type, what it can do and how messages reach it.
    Omitted fields take the channel type's built-in defaults."""

    channel: ChannelType = Field(description="Channel type.")
    capabilities: Capabilities | None = Field(
        None, description="What the channel can do (default: the channel type's)."
    )
    # its place in the chain: after the agent's
    settings: Settings | None = Field(
        None, description="Settings (the channel level of the chain, after the agent's)."
    )
    rate_limit: ChannelRateLimit | None = Field(
        None, alias="rateLimit", description="Messages per minute (default: the channel type's)."
    )
    fallback: list[Name] = Field(
        default_factory=list,
        description="ChannelProfile names to try, in order, when delivery fails or a capability "
        "is missing.",
    )
    format: ChannelFormat | None = Field(None, description="Greeting, signature and splitting.")
    # else the runtime's default (serve --outbound URL)
    delivery: Delivery | None = Field(
        None,
        description="Where outbound messages are handed over (default: the runtime's "
        "serve --outbound URL).",
    )


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
    """How the runtime calls the tool."""

    type: Literal["http", "internal", "composio", "builtin"] = Field(
        description="http: an HTTP endpoint; internal: a handler registered in the runtime; "
        "composio: a Composio action (the runtime must have a composio gateway configured); "
        "builtin: a tool the runtime provides (offerings.search)."
    )
    endpoint: str = Field(
        description="URL template (http), registered name (internal), action name (composio) "
        "or built-in tool name (builtin).",
        examples=["https://api.example.com/orders/{{ args.order_id }}"],
    )
    auth: Auth | None = Field(None, description="Bearer authentication (not for builtin).")

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
    """Whether the customer must confirm a call first."""

    required: bool = Field(False, description="Ask the customer before each call with new args.")
    prompt: str | None = Field(
        None,
        description="The question asked (a template; sees args).",
        examples=["Refund {{ args.amount }}?"],
    )


class ToolEffectSpec(SpecModel):
    """A tool an agent may call, and what calling it does to the world."""

    description: str | None = Field(None, description="What the tool does, for the model.")
    gateway: Gateway | None = Field(
        None, description="How the runtime calls it (default: an internal handler of its name)."
    )
    effect: Literal["pure", "idempotent", "compensatable", "irreversible"] = Field(
        description="pure: reads only; idempotent: safe to repeat; compensatable: undone by its "
        "compensation tool; irreversible: needs a confirmation and an idempotencyKey."
    )
    compensation: Name | None = Field(
        None, description="ToolEffect that undoes this one (required when compensatable)."
    )
    confirmation: Confirmation = Field(
        default_factory=Confirmation, description="Whether the customer confirms a call first."
    )
    idempotency_key: list[str] = Field(
        default_factory=list,
        alias="idempotencyKey",
        description="Parameter names whose values identify one call (the business key); a repeat "
        "within 24 h is answered from the first call's record, not run again.",
    )
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="Its arguments, a JSON Schema with type: object.",
        examples=[{"type": "object", "properties": {"order_id": {"type": "string"}}}],
    )
    timeout: Duration = Field("10s", description="How long a call may take.")

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
    """What the offering costs."""

    amount: Amount = Field(description="A decimal number, 0 or more.", examples=["29.90"])
    currency: str = Field(
        pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code.", examples=["EUR"]
    )
    period: Literal["once", "month", "year"] = Field("once", description="Billing period.")


class Faq(SpecModel):
    """A question customers ask about the offering, and its answer."""

    q: str = Field(description="The question.")
    a: str = Field(description="The answer.")


class OfferingSpec(SpecModel):
    """Something the tenant sells, for agents whose catalog selects it (by metadata.labels)."""

    type: Literal["product", "service", "plan", "tier"] = Field(description="What it is.")
    display_name: str = Field(alias="displayName", description="Name shown to customers.")
    description: str | None = Field(None, description="What it is, in a few sentences.")
    price: Price | None = Field(None, description="Its price.")
    attributes: dict[str, str | int | float | bool] = Field(
        default_factory=dict,
        description="Facts about it (name to string, number or boolean).",
        examples=[{"speed_mbps": 500}],
    )
    channels: list[Name] = Field(
        default_factory=list,
        description="ChannelProfile names it may be offered on (empty: all).",
    )
    faq: list[Faq] = Field(default_factory=list, description="Questions and answers.")
    tags: list[str] = Field(default_factory=list, description="Free-form tags.")


# --- goals ----------------------------------------------------------------------------------


class Trigger(SpecModel):
    """The conversation event that schedules the goal's action: exactly one of reachedStep or
    leftWithoutStep."""

    scenario: Name = Field(description="Scenario name.")
    reached_step: StepId | None = Field(
        None, alias="reachedStep", description="Fires when the conversation reaches this step."
    )
    left_without_step: StepId | None = Field(
        None,
        alias="leftWithoutStep",
        description="Fires when the conversation leaves the scenario without reaching this step.",
    )

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

    slot: SlotName = Field(description="A date or datetime slot.")
    offset: SignedDuration = Field(
        "0", description="Signed duration added to the slot's value.", examples=["-24h"]
    )


class CancelWhen(SpecModel):
    """A later event that cancels the pending action."""

    scenario: Name = Field(description="Scenario name.")
    reached_step: StepId = Field(
        alias="reachedStep", description="Cancels when the conversation reaches this step."
    )


class GoalSpec(SpecModel):
    """Something an agent does later on its own (the agenda): a follow-up, a reminder or a
    notification, scheduled by a conversation event."""

    agent: Name = Field(description="Agent that sends it.")
    trigger: Trigger = Field(description="The event that schedules it.")
    # a condition checked at trigger time
    when: str | None = Field(
        None,
        description="Condition (an expression) checked at trigger time.",
        examples=["slots.treatment == 'whitening'"],
    )
    action: Literal["follow_up", "reminder", "notification"] = Field(description="What it is.")
    after: Duration = Field("24h", description="Delay from the trigger.")
    relative_to: RelativeTo | None = Field(
        None, alias="relativeTo", description="Due at a slot's date instead of after the trigger."
    )
    cancel_when: list[CancelWhen] = Field(
        default_factory=list,
        alias="cancelWhen",
        description="Later events that cancel the pending action.",
    )
    within_business_hours: bool = Field(
        False,
        alias="withinBusinessHours",
        description="Wait until the tenant's business hours to send it.",
    )
    message: str = Field(description="What is sent (a template).")
    channels: list[Name] = Field(
        default_factory=list,
        description="ChannelProfile names to try, in order (default: the agent's channels).",
    )
    max_attempts: int = Field(
        3, alias="maxAttempts", ge=1, le=20, description="Most delivery attempts, 1 to 20."
    )
    retry_after: Duration = Field("1h", alias="retryAfter", description="Wait between attempts.")
    expires_after: Duration = Field(
        "7d", alias="expiresAfter", description="Give up when not sent within this time."
    )


# --- simulations ----------------------------------------------------------------------------
# A Simulation is a test of the bundle, not part of it: validated like every kind, never
# compiled into a snapshot. Its expectation keys are snake_case, as the design writes them.


class ToolStub(SpecModel):
    """What a tool answers in a simulation: ``result`` (JSON), or ``error``, after ``delay``;
    with ``match``, only for calls whose args contain those values."""

    tool: Name = Field(description="ToolEffect name.")
    match: dict[str, Any] = Field(
        default_factory=dict, description="Answer only calls whose args contain these values."
    )
    result: Any = Field(None, description="The result (any JSON value).")
    error: str | None = Field(None, description="An error message instead of a result.")
    delay: Duration | None = Field(None, description="Simulated time the call takes.")

    @model_validator(mode="after")
    def _one_answer(self) -> ToolStub:
        if self.error is not None and self.result is not None:
            raise ValueError("a stub answers with a result or an error, not both")
        return self


class DeliveryStub(SpecModel):
    """A channel profile's deliveries in a simulation: refused when sent (``fail``), or taken
    and then answered by a delivery ``receipt`` (``failed`` walks the fallback ladder)."""

    channel: Name = Field(description="ChannelProfile name.")
    fail: bool = Field(False, description="Deliveries are refused when sent.")
    receipt: Literal["delivered", "read", "failed"] | None = Field(
        None, description="The receipt that arrives for each delivery."
    )

    @model_validator(mode="after")
    def _fail_or_receipt(self) -> DeliveryStub:
        if self.fail == (self.receipt is not None):
            raise ValueError("a delivery stub says fail: true, or the receipt that arrives")
        return self


class ToolExpectation(SpecModel):
    """A tool call the event must make."""

    tool: Name = Field(description="ToolEffect name.")
    # a subset the call's args contain
    args: dict[str, Any] = Field(
        default_factory=dict, description="Values the call's args contain."
    )


class ScheduledExpectation(SpecModel):
    """A goal action the event must have scheduled."""

    goal: Name = Field(description="Goal name.")
    state: Literal["pending", "fired", "cancelled", "expired", "failed"] = Field(
        "pending", description="The action's state."
    )


class DeliveredExpectation(SpecModel):
    """A delivery the event must make."""

    channel: Name = Field(description="ChannelProfile name it is delivered on.")
    parts: int | None = Field(None, ge=1, description="Number of message parts.")


class Expectation(SpecModel):
    """What must hold after the event; every key given is checked."""

    step: StepId | None = Field(None, description="The conversation is at this step.")
    scenario: Name | None = Field(None, description="The conversation is in this scenario.")
    status: Literal["processed", "coalesced", "duplicate", "queued"] | None = Field(
        None, description="What became of the message."
    )
    turns: int | None = Field(None, ge=0, description="Number of turns the event ran.")
    reply_contains: str | None = Field(None, description="The reply contains this text.")
    reply_matches: str | None = Field(
        None, description="The reply matches this regular expression."
    )
    tool_called: ToolExpectation | None = Field(None, description="A tool call made.")
    tool_not_called: Name | None = Field(None, description="A tool not called.")
    scheduled: ScheduledExpectation | None = Field(None, description="A goal action scheduled.")
    delivered: DeliveredExpectation | None = Field(None, description="A delivery made.")
    no_reply: bool | None = Field(None, description="true: the agent did not reply.")
    confirmation_asked: bool | None = Field(
        None, description="Whether the agent asked for a tool confirmation."
    )

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

    user: str | None = Field(None, description="A message from the customer.")
    redeliver: Literal["previous"] | None = Field(
        None, description="Redeliver the previous message (a duplicate)."
    )
    burst: list[str] | None = Field(
        None, min_length=1, max_length=50, description="Messages sent 100 ms apart, 1 to 50."
    )
    wait: Duration | None = Field(None, description="Let simulated time pass.")
    after: Duration = Field("30s", description="Simulated time since the previous event.")
    intent: str | None = Field(None, description="The intent the message is classified as.")
    slots: dict[str, Any] = Field(
        default_factory=dict, description="Slot values extracted from the message."
    )
    expect: Expectation | None = Field(None, description="What must hold after the event.")

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
    """A scripted conversation that tests the bundle (focalctl simulate); never compiled into
    a snapshot."""

    agent: Name = Field(description="Agent under test.")
    channel: Name = Field(description="ChannelProfile the conversation runs on.")
    start: AwareDatetime = Field(
        description="Simulated time of the first event, with its UTC offset.",
        examples=["2026-03-02T09:00:00+01:00"],
    )
    profile: dict[str, Any] = Field(
        default_factory=dict, description="The customer's profile, as templates see it."
    )
    stubs: list[ToolStub] = Field(default_factory=list, description="What tools answer.")
    deliveries: list[DeliveryStub] = Field(
        default_factory=list, description="What becomes of deliveries per channel profile."
    )
    script: list[ScriptEvent] = Field(min_length=1, description="The events, in order.")


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of bundle document: its name, its spec model, and the snapshot section its
    objects compile into (None: the Tenant is the snapshot's ``tenant``, a Step is folded into
    its scenario, a Simulation is not compiled)."""

    name: str
    spec: type[SpecModel]
    section: str | None

    @property
    def schema_file(self) -> str:
        """Its JSON Schema's file name under ``schemas/``."""
        return f"{self.name.lower()}.schema.json"


#: The kinds table: every list of kinds, specs, sections and schema files derives from it.
KINDS: tuple[Kind, ...] = (
    Kind("Tenant", TenantSpec, None),
    Kind("Agent", AgentSpec, "agents"),
    Kind("Scenario", ScenarioSpec, "scenarios"),
    Kind("Step", StandaloneStepSpec, None),
    Kind("ChannelProfile", ChannelProfileSpec, "channels"),
    Kind("ToolEffect", ToolEffectSpec, "tools"),
    Kind("Offering", OfferingSpec, "offerings"),
    Kind("Goal", GoalSpec, "goals"),
    Kind("Simulation", SimulationSpec, None),
)
KIND_SPECS: dict[str, type[SpecModel]] = {k.name: k.spec for k in KINDS}
#: kind name -> the snapshot section of its objects, for the kinds that have one
SECTIONS: dict[str, str] = {k.name: k.section for k in KINDS if k.section is not None}
