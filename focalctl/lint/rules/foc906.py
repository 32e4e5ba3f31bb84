"""FOC906: a step's ``say`` that, rendered with sample values, is longer than the message
limit of a channel profile it is said on: the customer gets it split into several messages
(or cut, where the profile truncates). Values a template reads that the sample cannot know (a
tool's result) render empty, so a finding is a lower bound, never a guess upward."""

from __future__ import annotations

from typing import Any

from jinja2 import ChainableUndefined
from jinja2.sandbox import SandboxedEnvironment

from focalctl.lint import Finding, Model
from runtime.spec import AgentSpec, ChannelProfileSpec, ScenarioSpec, fill_channel_defaults

_ENV = SandboxedEnvironment(undefined=ChainableUndefined, autoescape=False)
_SAMPLES: dict[str, Any] = {
    "string": "a sample value",
    "number": 12345.67,
    "integer": 12345,
    "boolean": True,
    "date": "2026-03-02",
    "datetime": "2026-03-02T10:30:00+01:00",
    "email": "someone@example.com",
    "phone": "+49 151 12345678",
}
_PROFILE = {"first_name": "Alexandra", "last_name": "Schmidt", "name": "Alexandra Schmidt"}


def _render(source: str, context: dict[str, Any]) -> str | None:
    try:
        return _ENV.from_string(source).render(context).strip()
    except Exception:  # a template validation already accepted; the sample can't satisfy it
        return None


def check(model: Model) -> Finding:
    for agent in model.kind("Agent"):
        if not isinstance(agent.spec, AgentSpec):
            continue
        profiles: dict[str, tuple[str, int]] = {}  # name -> (channel type, limit)
        for name in agent.spec.channels:
            obj = model.get(agent.tenant, "ChannelProfile", name)
            if obj is None or not isinstance(obj.spec, ChannelProfileSpec):
                continue
            limit = (fill_channel_defaults(obj.spec.to_json()).get("capabilities") or {}).get(
                "maxMessageLength"
            )
            if isinstance(limit, int):
                profiles[name] = (str(obj.spec.channel), limit)
        if not profiles:
            continue
        for name in agent.spec.scenarios:
            scenario = model.get(agent.tenant, "Scenario", name)
            if scenario is None or not isinstance(scenario.spec, ScenarioSpec):
                continue
            slots: dict[str, Any] = {}
            for step in scenario.spec.steps:
                for rule in step.collects:
                    if isinstance(rule, str):
                        slots[rule] = _SAMPLES["string"]
                    else:
                        sample = max(rule.values, key=len) if rule.values else None
                        slots[rule.name] = sample or _SAMPLES.get(rule.type, _SAMPLES["string"])
            context = {"slots": slots, "profile": _PROFILE, "agent": {"name": agent.name}}
            for i, step in enumerate(scenario.spec.steps):
                say = step.say
                variants = {"default": say} if isinstance(say, str) else dict(say or {})
                for profile, (channel, limit) in sorted(profiles.items()):
                    key = next((k for k in (profile, channel, "default") if k in variants), None)
                    if key is None:
                        continue
                    text = _render(variants[key], context)
                    if text is not None and len(text) > limit:
                        pointer = f"/spec/steps/{i}/say" + (
                            "" if isinstance(say, str) else f"/{key}"
                        )
                        yield (
                            scenario,
                            scenario.diag(
                                "FOC906",
                                pointer,
                                step=step.id,
                                profile=profile,
                                length=len(text),
                                limit=limit,
                            ),
                        )
