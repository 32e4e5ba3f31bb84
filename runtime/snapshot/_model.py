"""The snapshot body as pydantic models, and the settings index the runtime keeps of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from runtime.settings import Layer, chain
from runtime.spec import (
    AgentSpec,
    ChannelProfileSpec,
    GoalSpec,
    OfferingSpec,
    ScenarioSpec,
    StepSpec,
    TenantSpec,
    ToolEffectSpec,
    TurnSettings,
)

S = TypeVar("S", bound=BaseModel)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


class ObjectEntry(_Model, Generic[S]):
    """One named object of the snapshot: its metadata that carries meaning, and its resolved
    spec. (Not :class:`runtime.spec.Entry`, which is where conversations enter a scenario.)"""

    labels: dict[str, str] = Field(default_factory=dict)
    description: str | None = None
    spec: S


class ChannelEntry(ObjectEntry[ChannelProfileSpec]):
    """A channel profile: ``spec`` has capabilities/format/rate limit filled in from the channel
    type; ``spec.settings`` is the profile's own settings layer and ``builtin_turn`` the
    type's turn defaults (the chain's "channel" level)."""

    builtin_turn: TurnSettings = Field(alias="builtinTurn")


class TenantEntry(ObjectEntry[TenantSpec]):
    name: str


class SnapshotV1(_Model):
    format: str
    tenant: TenantEntry
    defaults: dict[str, Any]
    agents: dict[str, ObjectEntry[AgentSpec]] = Field(default_factory=dict)
    channels: dict[str, ChannelEntry] = Field(default_factory=dict)
    scenarios: dict[str, ObjectEntry[ScenarioSpec]] = Field(default_factory=dict)
    tools: dict[str, ObjectEntry[ToolEffectSpec]] = Field(default_factory=dict)
    offerings: dict[str, ObjectEntry[OfferingSpec]] = Field(default_factory=dict)
    goals: dict[str, ObjectEntry[GoalSpec]] = Field(default_factory=dict)

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


#: What the index keeps of a scenario: its settings layer, and each step's (id, layer).
ScenarioLayers = tuple[dict[str, Any] | None, list[tuple[str, dict[str, Any] | None]]]


@dataclass(frozen=True, slots=True)
class SettingsIndex:
    """Just the settings layers of a snapshot, as small dicts: what the runtime keeps in memory
    to resolve effective settings, instead of the whole validated model.

    Built by :meth:`of` from a validated model, or by the runtime's loader straight from the
    layers it validated (both give equal indexes; tests/runtime/test_snapshot_wire.py)."""

    defaults: dict[str, Any]
    tenant: dict[str, Any] | None
    agents: dict[str, tuple[dict[str, Any] | None, str | None]]  # settings, default channel
    channels: dict[str, tuple[dict[str, Any], dict[str, Any] | None]]  # built-in turn, settings
    scenarios: dict[str, dict[str, Any] | None]
    steps: dict[tuple[str, str], dict[str, Any] | None]

    @classmethod
    def of(cls, model: SnapshotV1) -> SettingsIndex:
        return index_from_layers(
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
            scenarios={
                n: (_json(sc.spec.settings), [(st.id, _json(st.settings)) for st in sc.spec.steps])
                for n, sc in model.scenarios.items()
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


def index_from_layers(
    defaults: dict[str, Any],
    tenant: dict[str, Any] | None,
    agents: dict[str, tuple[dict[str, Any] | None, str | None]],
    channels: dict[str, tuple[dict[str, Any], dict[str, Any] | None]],
    scenarios: dict[str, ScenarioLayers],
) -> SettingsIndex:
    """The one way a :class:`SettingsIndex` is assembled, from each object's layers (whether
    read from a model or from the loader's validated dicts)."""
    return SettingsIndex(
        defaults=defaults,
        tenant=tenant,
        agents=agents,
        channels=channels,
        scenarios={name: settings for name, (settings, _) in scenarios.items()},
        steps={
            (name, step): settings
            for name, (_, steps) in scenarios.items()
            for step, settings in steps
        },
    )


def _json(model: BaseModel | None) -> dict[str, Any] | None:
    return (
        model.model_dump(mode="json", by_alias=True, exclude_none=True)
        if model is not None
        else None
    )
