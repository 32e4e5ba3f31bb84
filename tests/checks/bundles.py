"""Helpers for the check tests: a small valid bundle, one mistake per test, real validate runs.

``write(tmp_path, **files)`` writes the base bundle with some files replaced or added (``None``
drops a file) and ``found(root)`` validates it, returning (code, file, pointer) for every
diagnostic, so each test asserts exactly what is reported and where.
"""

from __future__ import annotations

from pathlib import Path

from focalctl.diagnostics import Diagnostic
from focalctl.validate import validate_paths

TENANT = """apiVersion: focal/v1
kind: Tenant
metadata: {name: t1}
spec: {channels: [webchat, sms]}
"""
AGENT = """apiVersion: focal/v1
kind: Agent
metadata: {name: bot, tenant: t1}
spec:
  channels: [web]
  tools: [lookup]
  scenarios: [flow]
"""
CHANNEL = """apiVersion: focal/v1
kind: ChannelProfile
metadata: {name: web, tenant: t1}
spec: {channel: webchat}
"""
TOOL = """apiVersion: focal/v1
kind: ToolEffect
metadata: {name: lookup, tenant: t1}
spec:
  effect: pure
  parameters: {type: object, properties: {id: {type: string}}}
"""
SCENARIO_HEAD = """apiVersion: focal/v1
kind: Scenario
metadata: {name: flow, tenant: t1}
spec:
  entry: {step: start}
  steps:
"""
SCENARIO = (
    SCENARIO_HEAD
    + """    - id: start
      say: "Hi"
      transitions: [{to: end}]
    - id: end
      say: "Bye"
      terminal: true
"""
)
BASE = {
    "tenant.yaml": TENANT,
    "agent.yaml": AGENT,
    "channel.yaml": CHANNEL,
    "tool.yaml": TOOL,
    "scenario.yaml": SCENARIO,
}


def doc(kind: str, name: str, spec: str, tenant: str | None = "t1") -> str:
    """One YAML document; ``spec`` is the indented body under ``spec:``."""
    meta = f"{{name: {name}, tenant: {tenant}}}" if tenant else f"{{name: {name}}}"
    return f"apiVersion: focal/v1\nkind: {kind}\nmetadata: {meta}\nspec:\n{spec}"


def scenario(steps: str, entry: str = "start", name: str = "flow") -> str:
    """A scenario document whose ``steps:`` list is ``steps`` (indented by 4)."""
    head = SCENARIO_HEAD.replace("{step: start}", f"{{step: {entry}}}")
    return head.replace("{name: flow,", f"{{name: {name},") + steps


def write(tmp_path: Path, **files: str | None) -> Path:
    """Base bundle + overrides; a key ``scenario`` stands for the file ``scenario.yaml``."""
    merged: dict[str, str | None] = dict(BASE)
    merged.update({k if k.endswith(".yaml") else f"{k}.yaml": v for k, v in files.items()})
    for name, text in merged.items():
        if text is not None:
            (tmp_path / name).write_text(text)
    return tmp_path


Found = set[tuple[str, str, str]]


def found(root: Path, codes: str | None = None) -> Found:
    """(code, file relative to root, pointer) of every diagnostic; only codes starting with
    ``codes`` when given."""
    return {
        (d.code, Path(d.file or "").relative_to(root).as_posix(), d.pointer)
        for d in diagnostics(root)
        if codes is None or d.code.startswith(codes)
    }


def diagnostics(root: Path) -> list[Diagnostic]:
    return validate_paths([root]).diagnostics
