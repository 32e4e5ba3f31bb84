"""The snapshot: the contract between the compiler and the runtime (``focal.snapshot/v1``).

A snapshot holds every object of one tenant, fully resolved: specs with their defaults filled
in, channel profiles merged over their channel type's built-in defaults, standalone steps
merged into their scenarios, and the settings layers of the hierarchy (see
:mod:`runtime.settings`) so the runtime never needs a default from code. Templates stay as
source; the runtime renders them.

Identity and integrity:

- The bytes are the RFC 8785 (JCS) canonical JSON of the body; the id is ``sha256:`` + the hex
  digest of those bytes. Loading hashes the raw bytes *before* parsing anything.
- Only semantic content is inside. Provenance (which file and line each value came from) and
  the digests of the source files are produced by the compiler *beside* the snapshot and kept
  by the store, because the same bundle must give the same id whatever files, lines or YAML
  style its documents come from (moving a document to another file changes no byte here).
- Nothing time- or machine-dependent is inside; that goes on the release record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, TypeVar

import rfc8785
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from runtime.reasons import Reason
from runtime.settings import Layer, chain
from runtime.spec import (
    AgentSpec,
    ChannelProfileSpec,
    GoalSpec,
    OfferingSpec,
    ScenarioSpec,
    Settings,
    StepSpec,
    TenantSpec,
    ToolEffectSpec,
    TurnSettings,
)
from runtime.wire import Reducer, Wire, dump_plan, field_reader

SNAPSHOT_FORMAT = "focal.snapshot/v1"
SUPPORTED_FORMATS = (SNAPSHOT_FORMAT,)

S = TypeVar("S", bound=BaseModel)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


class Entry(_Model, Generic[S]):
    """One named object: its metadata that carries meaning, and its resolved spec."""

    labels: dict[str, str] = Field(default_factory=dict)
    description: str | None = None
    spec: S


class ChannelEntry(Entry[ChannelProfileSpec]):
    """A channel profile: ``spec`` has capabilities/format/rate limit filled in from the channel
    type; ``spec.settings`` is the profile's own settings layer and ``builtin_turn`` the
    type's turn defaults (the chain's "channel" level)."""

    builtin_turn: TurnSettings = Field(alias="builtinTurn")


class TenantEntry(Entry[TenantSpec]):
    name: str


class SnapshotV1(_Model):
    format: str
    tenant: TenantEntry
    defaults: dict[str, Any]
    agents: dict[str, Entry[AgentSpec]] = Field(default_factory=dict)
    channels: dict[str, ChannelEntry] = Field(default_factory=dict)
    scenarios: dict[str, Entry[ScenarioSpec]] = Field(default_factory=dict)
    tools: dict[str, Entry[ToolEffectSpec]] = Field(default_factory=dict)
    offerings: dict[str, Entry[OfferingSpec]] = Field(default_factory=dict)
    goals: dict[str, Entry[GoalSpec]] = Field(default_factory=dict)

    def step(self, scenario: str, step_id: str) -> StepSpec | None:
        entry = self.scenarios.get(scenario)
        if entry is None:
            return None
        return next((s for s in entry.spec.steps if s.id == step_id), None)

    def object_count(self) -> int:
        return 1 + sum(
            len(m)
            for m in (
                self.agents,
                self.channels,
                self.scenarios,
                self.tools,
                self.offerings,
                self.goals,
            )
        )


@dataclass(frozen=True, slots=True)
class SettingsIndex:
    """Just the settings layers of a snapshot, as small dicts: what the runtime keeps in memory
    to resolve effective settings, instead of the whole validated model."""

    defaults: dict[str, Any]
    tenant: dict[str, Any] | None
    agents: dict[str, tuple[dict[str, Any] | None, str | None]]  # settings, default channel
    channels: dict[str, tuple[dict[str, Any], dict[str, Any] | None]]  # built-in turn, settings
    scenarios: dict[str, dict[str, Any] | None]
    steps: dict[tuple[str, str], dict[str, Any] | None]

    @classmethod
    def of(cls, model: SnapshotV1) -> SettingsIndex:
        return cls(
            defaults=model.defaults,
            tenant=_json(model.tenant.spec.defaults),
            agents={
                n: (_json(a.spec.settings), a.spec.channels[0] if a.spec.channels else None)
                for n, a in model.agents.items()
            },
            channels={
                n: (_json(c.builtin_turn) or {}, _json(c.spec.settings))
                for n, c in model.channels.items()
            },
            scenarios={n: _json(sc.spec.settings) for n, sc in model.scenarios.items()},
            steps={
                (n, st.id): _json(st.settings)
                for n, sc in model.scenarios.items()
                for st in sc.spec.steps
            },
        )

    @classmethod
    def of_layers(cls, body: Mapping[str, Any]) -> SettingsIndex:
        """The same index, from a body validated by :func:`index_adapter`, whose entries were
        reduced to their settings layers as they were validated."""
        scenarios: dict[str, tuple[dict[str, Any] | None, list[_StepLayer]]] = _SCENARIOS(body)
        return cls(
            defaults=_DEFAULTS(body),
            tenant=_SETTINGS_JSON(_TENANT_DEFAULTS(_TENANT_SPEC(body["tenant"]))),
            agents=dict(_AGENTS(body)),
            channels=dict(_CHANNELS(body)),
            scenarios={name: settings for name, (settings, _) in scenarios.items()},
            steps={
                (name, step): settings
                for name, (_, steps) in scenarios.items()
                for step, settings in steps
            },
        )

    def layers(
        self,
        agent: str,
        scenario: str | None = None,
        step: str | None = None,
        channel: str | None = None,
    ) -> list[Layer]:
        """The settings chain for (agent, scenario, step, channel); KeyError for unknown names."""
        agent_settings, default_channel = self.agents[agent]
        scenario_settings = self.scenarios[scenario] if scenario else None
        step_settings = self.steps[(scenario, step)] if scenario and step else None
        if step and not scenario:
            raise KeyError(step)
        profile = channel or default_channel
        builtin, own = self.channels[profile] if profile else (None, None)
        return chain(
            self.defaults,
            builtin,
            self.tenant,
            agent_settings,
            own,
            scenario_settings,
            step_settings,
        )


def _json(model: BaseModel | None) -> dict[str, Any] | None:
    return (
        model.model_dump(mode="json", by_alias=True, exclude_none=True)
        if model is not None
        else None
    )


# What index_adapter reads, by field: the wire key (alias) and the model's default if absent.
_DEFAULTS = field_reader(SnapshotV1, "defaults")
_AGENTS = field_reader(SnapshotV1, "agents")
_CHANNELS = field_reader(SnapshotV1, "channels")
_SCENARIOS = field_reader(SnapshotV1, "scenarios")
_TENANT_SPEC = field_reader(TenantEntry, "spec")
_TENANT_DEFAULTS = field_reader(TenantSpec, "defaults")
_AGENT_SPEC = field_reader(Entry[AgentSpec], "spec")
_AGENT_SETTINGS = field_reader(AgentSpec, "settings")
_AGENT_CHANNELS = field_reader(AgentSpec, "channels")
_CHANNEL_SPEC = field_reader(ChannelEntry, "spec")
_CHANNEL_BUILTIN = field_reader(ChannelEntry, "builtin_turn")
_PROFILE_SETTINGS = field_reader(ChannelProfileSpec, "settings")
_SCENARIO_SPEC = field_reader(Entry[ScenarioSpec], "spec")
_SCENARIO_SETTINGS = field_reader(ScenarioSpec, "settings")
_SCENARIO_STEPS = field_reader(ScenarioSpec, "steps")
_STEP_ID = field_reader(StepSpec, "id")
_STEP_SETTINGS = field_reader(StepSpec, "settings")
_SETTINGS_JSON = dump_plan(Settings)
_TURN_JSON = dump_plan(TurnSettings)

_StepLayer = tuple[str, dict[str, Any] | None]


def _agent_layer(entry: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    spec = _AGENT_SPEC(entry)
    channels = _AGENT_CHANNELS(spec)
    return _SETTINGS_JSON(_AGENT_SETTINGS(spec)), channels[0] if channels else None


def _channel_layers(entry: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    own = _SETTINGS_JSON(_PROFILE_SETTINGS(_CHANNEL_SPEC(entry)))
    return _TURN_JSON(_CHANNEL_BUILTIN(entry)) or {}, own


def _scenario_layers(entry: dict[str, Any]) -> tuple[dict[str, Any] | None, list[_StepLayer]]:
    spec = _SCENARIO_SPEC(entry)
    steps = [
        (_STEP_ID(step), None if (layer := _STEP_SETTINGS(step)) is None else _SETTINGS_JSON(layer))
        for step in _SCENARIO_STEPS(spec)
    ]
    return _SETTINGS_JSON(_SCENARIO_SETTINGS(spec)), steps


def _nothing(entry: dict[str, Any]) -> None:
    return None  # validated in full; the runtime keeps none of it


#: Entries reduced, as soon as each is validated, to what SettingsIndex keeps of them.
_INDEX_REDUCERS: dict[type[BaseModel], Reducer] = {
    Entry[AgentSpec]: _agent_layer,
    ChannelEntry: _channel_layers,
    Entry[ScenarioSpec]: _scenario_layers,
    Entry[ToolEffectSpec]: _nothing,
    Entry[OfferingSpec]: _nothing,
    Entry[GoalSpec]: _nothing,
}


@cache
def index_adapter() -> TypeAdapter[dict[str, Any]]:
    """The runtime's validator of snapshot bodies: the TypedDicts :mod:`runtime.wire` derives
    from :class:`SnapshotV1`, with the entries reduced to their settings layers for
    :meth:`SettingsIndex.of_layers`. Built on first use (a one-off ~15 ms the compiler never
    pays)."""
    wire = Wire(_INDEX_REDUCERS)
    adapter: TypeAdapter[dict[str, Any]] = TypeAdapter(wire.of(SnapshotV1))
    if wire.reduced != set(_INDEX_REDUCERS):  # a reducer for a type the snapshot lost
        raise TypeError(f"unused reducers: {set(_INDEX_REDUCERS) - wire.reduced}")
    return adapter


class SnapshotError(Exception):
    """A candidate snapshot that must not be served, with its :class:`Reason`."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A verified, validated snapshot."""

    id: str
    model: SnapshotV1
    size: int
    raw: bytes = b""

    @property
    def tenant(self) -> str:
        return self.model.tenant.name


def canonical_bytes(body: Any) -> bytes:
    """RFC 8785 canonical JSON of a JSON value (a snapshot body, or a part of one)."""
    return bytes(rfc8785.dumps(body))


def snapshot_id(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True, slots=True)
class IndexedSnapshot:
    """A verified, validated snapshot reduced to what the runtime keeps: its settings index."""

    id: str
    tenant: str
    size: int
    index: SettingsIndex


def load_snapshot(
    raw: bytes, expected_id: str | None = None, tenant: str | None = None
) -> Snapshot:
    """Verify and validate candidate bytes; raise :class:`SnapshotError` with the reason."""
    actual = _verify(raw, expected_id)
    try:
        model = SnapshotV1.model_validate_json(raw)  # one pass in pydantic-core
    except ValidationError as exc:
        raise _classify(raw, exc) from exc
    _check_header(model.format, model.tenant.name, tenant)
    return Snapshot(id=actual, model=model, size=len(raw), raw=raw)


def load_settings_index(
    raw: bytes, expected_id: str | None = None, tenant: str | None = None
) -> IndexedSnapshot:
    """:func:`load_snapshot` for the runtime: the same checks and the same rejections (same
    reason slugs), but validated into plain dicts by :func:`index_adapter` and reduced to the
    :class:`SettingsIndex` as it goes, without building the model."""
    actual = _verify(raw, expected_id)
    try:
        body = index_adapter().validate_json(raw)
    except ValidationError as exc:
        raise _classify(raw, exc) from exc
    name = body["tenant"]["name"]
    _check_header(body["format"], name, tenant)
    return IndexedSnapshot(
        id=actual, tenant=name, size=len(raw), index=SettingsIndex.of_layers(body)
    )


def _verify(raw: bytes, expected_id: str | None) -> str:
    actual = snapshot_id(raw)
    if expected_id is not None and actual != expected_id:
        stripped = raw.rstrip()
        reason = (
            Reason.TRUNCATED
            if not stripped or not stripped.endswith(b"}")
            else Reason.DIGEST_MISMATCH
        )
        raise SnapshotError(reason, f"content hashes to {actual}, expected {expected_id}")
    return actual


def _check_header(fmt: str, name: str, tenant: str | None) -> None:
    if fmt not in SUPPORTED_FORMATS:
        raise _format_error(fmt)
    if tenant is not None and name != tenant:
        raise SnapshotError(
            Reason.WRONG_TENANT, f"snapshot is for tenant {name!r}, expected {tenant!r}"
        )


def _format_error(fmt: object) -> SnapshotError:
    if isinstance(fmt, str) and fmt.startswith("focal.snapshot/"):
        return SnapshotError(
            Reason.FUTURE_FORMAT,
            f"format {fmt!r} is newer than this runtime understands ({SNAPSHOT_FORMAT})",
        )
    return SnapshotError(Reason.SCHEMA_INVALID, f"unknown snapshot format {fmt!r}")


def _classify(raw: bytes, exc: ValidationError) -> SnapshotError:
    """Why a candidate failed validation: truncated, not JSON, a newer format, or the schema."""
    try:
        data = json.loads(raw)
    except RecursionError:
        return SnapshotError(Reason.TOO_DEEP, "JSON nests deeper than the parser allows")
    except json.JSONDecodeError as err:
        if err.pos >= len(raw.rstrip()):
            return SnapshotError(Reason.TRUNCATED, f"JSON ends early: {err.msg} at byte {err.pos}")
        return SnapshotError(Reason.NOT_JSON, f"not valid JSON: {err}")
    except (ValueError, UnicodeDecodeError) as err:
        return SnapshotError(Reason.NOT_JSON, f"not valid JSON: {err}")
    if not isinstance(data, dict):
        return SnapshotError(Reason.SCHEMA_INVALID, "a snapshot is a JSON object")
    if data.get("format") not in SUPPORTED_FORMATS:
        return _format_error(data.get("format"))
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"])
    return SnapshotError(
        Reason.SCHEMA_INVALID, f"{exc.error_count()} error(s), first at {where}: {first['msg']}"
    )
