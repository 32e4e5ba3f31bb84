"""FOC903: a step collects a slot that nothing reads: no template, condition or tool argument
of the scenario (or of the goals triggered from it) mentions it. The customer is asked for
something the agent never uses."""

from __future__ import annotations

import json
import re

from focalctl.lint import Finding, Model
from runtime.spec import GoalSpec, ScenarioSpec


def _reads(text: str, slot: str) -> bool:
    return re.search(rf"slots\s*(\.\s*{slot}\b|\[\s*['\"]{slot}['\"]\s*\])", text) is not None


def check(model: Model) -> Finding:
    for obj in model.kind("Scenario"):
        spec = obj.spec
        assert isinstance(spec, ScenarioSpec)
        text = json.dumps(spec.to_json())  # every template and condition of the scenario
        for goal in model.kind("Goal", obj.tenant):
            if isinstance(goal.spec, GoalSpec) and goal.spec.trigger.scenario == obj.name:
                text += json.dumps(goal.spec.to_json())
        for i, step in enumerate(spec.steps):
            for j, rule in enumerate(step.collects):
                name = rule if isinstance(rule, str) else rule.name
                if not _reads(text, name):
                    yield (
                        obj,
                        obj.diag(
                            "FOC903",
                            f"/spec/steps/{i}/collects/{j}",
                            step=step.id,
                            slot=name,
                        ),
                    )
