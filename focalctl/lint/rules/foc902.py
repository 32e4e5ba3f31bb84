"""FOC902: a goal that sends on one channel profile with no fallback: when that channel
fails, the follow-up is lost."""

from __future__ import annotations

from focalctl.lint import Finding, Model
from runtime.spec import AgentSpec, ChannelProfileSpec, GoalSpec


def check(model: Model) -> Finding:
    for obj in model.kind("Goal"):
        spec = obj.spec
        assert isinstance(spec, GoalSpec)
        ladder = list(spec.channels)
        if not ladder:
            agent = model.get(obj.tenant, "Agent", spec.agent)
            ladder = (
                list(agent.spec.channels) if agent and isinstance(agent.spec, AgentSpec) else []
            )
        if len(ladder) != 1:
            continue
        profile = model.get(obj.tenant, "ChannelProfile", ladder[0])
        if profile is None or not isinstance(profile.spec, ChannelProfileSpec):
            continue
        if not profile.spec.fallback:
            where = "/spec/channels" if spec.channels else "/spec/agent"
            yield obj, obj.diag("FOC902", where, goal=obj.name, channel=ladder[0])
