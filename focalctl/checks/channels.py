"""Invariant 8, channels: fallback ladders exist, send outbound and end; fixed texts fit the
channels they are sent on; an agent only speaks on channel types its tenant allows; a step's
``say`` variants name channel profiles, channel types or ``default``, and have a ``default``.

A *fixed* text is a template without ``{{ }}``/``{% %}``: its length is known at validate time.
A text with variables is measured at send time by the runtime formatter instead.

Bad::

    kind: ChannelProfile
    metadata: {name: sms-main}
    spec: {channel: sms, format: {signature: "<200 characters>"}}     # FOC604: sms allows 160

Good::

    spec: {channel: sms, format: {signature: "— Acme"}}
"""

from __future__ import annotations

from collections.abc import Iterator

from focalctl.bundle import BundleObject
from focalctl.bundle.view import PlacedStep, View, own_steps
from focalctl.checks.references import declared_invalid
from focalctl.diagnostics import Diagnostic
from focalctl.diagnostics.suggest import did_you_mean
from runtime.spec import (
    CHANNEL_TYPES,
    SAY_DEFAULT,
    AgentSpec,
    ChannelProfileSpec,
    GoalSpec,
    StandaloneStepSpec,
    TenantSpec,
    fill_channel_defaults,
)


def filled(obj: BundleObject) -> dict[str, object]:
    assert isinstance(obj.spec, ChannelProfileSpec)
    return fill_channel_defaults(obj.spec.to_json())


def _caps(obj: BundleObject) -> dict[str, object]:
    caps = filled(obj)["capabilities"]
    assert isinstance(caps, dict)
    return caps


def is_fixed(text: str) -> bool:
    return "{{" not in text and "{%" not in text


def check(view: View, obj: BundleObject) -> Iterator[Diagnostic]:
    if obj.kind == "ChannelProfile":
        yield from _fallback(view, obj)
        yield from _format_lengths(obj)
        yield from _ladder_cycles(view, obj)
    elif obj.kind == "Goal":
        yield from _goal_lengths(view, obj)
    elif obj.kind == "Agent":
        yield from _tenant_allows(view, obj)
    for placed in own_steps(obj):
        yield from _say(view, placed)


def _say(view: View, placed: PlacedStep) -> Iterator[Diagnostic]:
    """Variant keys resolve, ``default`` exists, and each fixed text fits where it is sent:
    on the profiles the agents running the scenario speak on, a profile's variant on that
    profile, a type's on those of that type, ``default`` (or a plain ``say``) on the rest."""
    say = placed.step.say
    if say is None:
        return
    tenant = placed.owner.tenant
    variants = say if isinstance(say, dict) else {SAY_DEFAULT: say}
    if isinstance(say, dict):
        for key in variants:
            if key in (SAY_DEFAULT, *CHANNEL_TYPES) or view.declared(tenant, "ChannelProfile", key):
                continue
            profiles = view.declared_names(tenant, "ChannelProfile")
            yield placed.diag(
                "FOC607",
                ("say", key),
                target="key",
                step=placed.step.id,
                key=key,
                tenant=tenant,
                hint=did_you_mean(key, [SAY_DEFAULT, *profiles, *CHANNEL_TYPES])
                or f"use a profile ({', '.join(sorted(profiles)) or 'none defined'}), "
                f"a channel type ({', '.join(CHANNEL_TYPES)}) or 'default'",
            )
        if SAY_DEFAULT not in say:
            yield placed.diag("FOC606", ("say",), target="key", step=placed.step.id)
    fixed = {key: text for key, text in variants.items() if is_fixed(text)}
    if not fixed:
        return
    for name, profile in _spoken_on(view, placed):
        assert isinstance(profile.spec, ChannelProfileSpec)
        key = (
            name
            if name in variants
            else profile.spec.channel
            if profile.spec.channel in variants
            else SAY_DEFAULT
        )
        text = fixed.get(key)
        limit = _caps(profile).get("maxMessageLength")
        if text is not None and isinstance(limit, int) and len(text) > limit:
            yield placed.diag(
                "FOC604",
                ("say", key) if isinstance(say, dict) else ("say",),
                what=f"say of step '{placed.step.id}'"
                + (f" ({key})" if isinstance(say, dict) else ""),
                length=len(text),
                channel=name,
                limit=limit,
            )


def _spoken_on(view: View, placed: PlacedStep) -> list[tuple[str, BundleObject]]:
    """The channel profiles of the agents that run the step's scenario, by name."""
    owner = placed.owner
    scenario = owner.spec.scenario if isinstance(owner.spec, StandaloneStepSpec) else owner.name
    names: set[str] = set()
    for agent in view.agents_listing(owner.tenant, scenario):
        if isinstance(agent.spec, AgentSpec):
            names.update(agent.spec.channels)
    out = []
    for name in sorted(names):
        profile = view.get(owner.tenant, "ChannelProfile", name)
        if profile is not None and isinstance(profile.spec, ChannelProfileSpec):
            out.append((name, profile))
    return out


def _fallback(view: View, obj: BundleObject) -> Iterator[Diagnostic]:
    assert isinstance(obj.spec, ChannelProfileSpec)
    for i, name in enumerate(obj.spec.fallback):
        target = view.get(obj.tenant, "ChannelProfile", name)
        if target is None and declared_invalid(view, obj.tenant, "ChannelProfile", name):
            continue  # its own errors are reported (the rule of focalctl.checks.references)
        if target is None:
            yield obj.diag(
                "FOC601",
                f"/spec/fallback/{i}",
                profile=obj.name,
                name=name,
                hint=did_you_mean(name, view.object_names(obj.tenant, "ChannelProfile")),
            )
        elif not _caps(target).get("outbound"):
            yield obj.diag("FOC602", f"/spec/fallback/{i}", profile=obj.name, name=name)


def _ladder_cycles(view: View, obj: BundleObject) -> Iterator[Diagnostic]:
    """Every fallback cycle through ``obj``, reported once: at its first member by name."""
    spec = obj.spec
    assert isinstance(spec, ChannelProfileSpec)
    reported: set[frozenset[str]] = set()
    # Walk every path from obj; a path that comes back to obj is a cycle.
    stack: list[list[str]] = [[obj.name]]
    while stack:
        path = stack.pop()
        prof = view.get(obj.tenant, "ChannelProfile", path[-1])
        if prof is None or not isinstance(prof.spec, ChannelProfileSpec):
            continue
        for nxt in prof.spec.fallback:
            if nxt == obj.name:
                key = frozenset(path)
                if key not in reported and min(key) == obj.name:
                    reported.add(key)
                    first_hop = spec.fallback.index(path[1] if len(path) > 1 else nxt)
                    yield obj.diag(
                        "FOC603", f"/spec/fallback/{first_hop}", cycle=" → ".join([*path, nxt])
                    )
            elif nxt not in path and len(path) < 32:
                stack.append([*path, nxt])


def _format_lengths(obj: BundleObject) -> Iterator[Diagnostic]:
    assert isinstance(obj.spec, ChannelProfileSpec)
    limit = _caps(obj).get("maxMessageLength")
    fmt = obj.spec.format
    if not isinstance(limit, int) or fmt is None:
        return
    for field in ("greeting", "signature"):
        text = getattr(fmt, field)
        if isinstance(text, str) and is_fixed(text) and len(text) > limit:
            yield obj.diag(
                "FOC604",
                f"/spec/format/{field}",
                what=f"the {field}",
                length=len(text),
                channel=obj.name,
                limit=limit,
            )


def _goal_lengths(view: View, goal: BundleObject) -> Iterator[Diagnostic]:
    spec = goal.spec
    assert isinstance(spec, GoalSpec)
    if not is_fixed(spec.message):
        return
    ladder = list(spec.channels)
    if not ladder:
        agent = view.get(goal.tenant, "Agent", spec.agent)
        ladder = (
            list(agent.spec.channels)
            if agent is not None and isinstance(agent.spec, AgentSpec)
            else []
        )
    for name in ladder:
        prof = view.get(goal.tenant, "ChannelProfile", name)
        if prof is None:
            continue
        limit = _caps(prof).get("maxMessageLength")
        if isinstance(limit, int) and len(spec.message) > limit:
            yield goal.diag(
                "FOC604",
                "/spec/message",
                what="the goal message",
                length=len(spec.message),
                channel=name,
                limit=limit,
            )


def _tenant_allows(view: View, agent: BundleObject) -> Iterator[Diagnostic]:
    tenant = view.get(agent.tenant, "Tenant", agent.tenant)
    if tenant is None or not isinstance(tenant.spec, TenantSpec) or not tenant.spec.channels:
        return
    assert isinstance(agent.spec, AgentSpec)
    for i, name in enumerate(agent.spec.channels):
        prof = view.get(agent.tenant, "ChannelProfile", name)
        if (
            prof is not None
            and isinstance(prof.spec, ChannelProfileSpec)
            and prof.spec.channel not in tenant.spec.channels
        ):
            yield agent.diag(
                "FOC605",
                f"/spec/channels/{i}",
                agent=agent.name,
                profile=name,
                channel=prof.spec.channel,
                tenant=agent.tenant,
            )
