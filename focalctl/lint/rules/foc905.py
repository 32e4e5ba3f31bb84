"""FOC905: a step of an agent's scenarios that none of the tenant's simulations reaches (when
the tenant has simulations): a change to it ships untested. The simulations are run, through
the real runtime, to find out."""

from __future__ import annotations

from focalctl.lint import Finding, Model
from runtime.spec import AgentSpec, ScenarioSpec


def check(model: Model) -> Finding:
    simulations = model.kind("Simulation")
    if not simulations:
        return
    from focalctl.compile.build import compile_bundle
    from focalctl.simulate import _run_all

    snapshots = {t: (s.id, s.raw) for t, s in compile_bundle(model.bundle).items()}
    reached: set[tuple[str, str, str]] = set()
    for obj, result in zip(simulations, _run_all(simulations, snapshots), strict=True):
        reached |= {(obj.tenant, scenario, step) for scenario, step in result.reached}
    tenants = {s.tenant for s in simulations}
    for agent in model.kind("Agent"):
        if agent.tenant not in tenants or not isinstance(agent.spec, AgentSpec):
            continue
        for name in agent.spec.scenarios:
            scenario = model.get(agent.tenant, "Scenario", name)
            if scenario is None or not isinstance(scenario.spec, ScenarioSpec):
                continue
            for i, step in enumerate(scenario.spec.steps):
                if (agent.tenant, name, step.id) not in reached:
                    yield (
                        scenario,
                        scenario.diag("FOC905", f"/spec/steps/{i}/id", scenario=name, step=step.id),
                    )
