"""Synthetic bundles of N objects with a realistic mix of kinds, for the benchmarks.

Per agent "unit" (~20 objects): 1 agent, 2 channel profiles, 4 tools, 6 scenarios of 4-6
steps, 1 goal, 6 offerings. Files hold one unit's objects by kind, like a real repo. Every
bundle validates clean, so a benchmark measures the whole pipeline.
"""

from __future__ import annotations

import argparse
from pathlib import Path

UNIT_OBJECTS = 20


def _unit(t: str, u: int) -> dict[str, str]:
    a = f"agent-{u}"
    ch = [f"wa-{u}", f"sms-{u}"]
    tools = [f"lookup-{u}", f"refund-{u}", f"credit-{u}", f"uncredit-{u}"]
    scen = [f"flow-{u}-{i}" for i in range(6)]
    files: dict[str, str] = {}
    files[f"agents/{a}.yaml"] = f"""apiVersion: focal/v1
kind: Agent
metadata: {{name: {a}, tenant: {t}, labels: {{unit: "{u}"}}}}
spec:
  displayName: Agent {u}
  channels: [{", ".join(ch)}]
  tools: [{", ".join(tools)}]
  scenarios: [{", ".join(scen)}]
  goals: [goal-{u}]
  settings: {{llm: {{temperature: 0.{u % 9}}}}}
"""
    files[f"channels/{u}.yaml"] = f"""apiVersion: focal/v1
kind: ChannelProfile
metadata: {{name: {ch[0]}, tenant: {t}}}
spec: {{channel: whatsapp, settings: {{turn: {{debounce: 1200ms}}}}, fallback: [{ch[1]}]}}
---
apiVersion: focal/v1
kind: ChannelProfile
metadata: {{name: {ch[1]}, tenant: {t}}}
spec:
  channel: sms
  format: {{signature: "- Shop {u}"}}
"""
    files[f"tools/{u}.yaml"] = f"""apiVersion: focal/v1
kind: ToolEffect
metadata: {{name: {tools[0]}, tenant: {t}}}
spec:
  effect: pure
  gateway: {{type: http, endpoint: "https://api.example.com/orders/{{{{ args.order_id }}}}", auth: {{secretRef: API_TOKEN}}}}
  parameters: {{type: object, properties: {{order_id: {{type: string}}}}, required: [order_id]}}
---
apiVersion: focal/v1
kind: ToolEffect
metadata: {{name: {tools[1]}, tenant: {t}}}
spec:
  effect: irreversible
  confirmation: {{required: true, prompt: "Refund {{{{ args.amount }}}}?"}}
  idempotencyKey: [order_id]
  parameters: {{type: object, properties: {{order_id: {{type: string}}, amount: {{type: number}}}}, required: [order_id]}}
---
apiVersion: focal/v1
kind: ToolEffect
metadata: {{name: {tools[2]}, tenant: {t}}}
spec:
  effect: compensatable
  compensation: {tools[3]}
  parameters: {{type: object, properties: {{order_id: {{type: string}}}}}}
---
apiVersion: focal/v1
kind: ToolEffect
metadata: {{name: {tools[3]}, tenant: {t}}}
spec: {{effect: idempotent, parameters: {{type: object, properties: {{order_id: {{type: string}}}}}}}}
"""
    docs = []
    for i, s in enumerate(scen):
        docs.append(f"""apiVersion: focal/v1
kind: Scenario
metadata: {{name: {s}, tenant: {t}}}
spec:
  entry: {{step: ask, when: "intent == 'topic_{i}'"}}
  settings: {{turn: {{maxBurst: {1 + i}}}}}
  steps:
    - id: ask
      say: "Which order, {{{{ profile.first_name }}}}?"
      collects: [order_id]
      transitions: [{{to: look, when: "slots.order_id"}}]
    - id: look
      tools: [{{tool: {tools[0]}, at: before, args: {{order_id: "{{{{ slots.order_id }}}}"}}, saveAs: order}}]
      say: "Order {{{{ slots.order_id }}}} is {{{{ slots.order.status }}}}."
      transitions:
        - {{to: confirm, when: "intent == 'refund'", priority: 5}}
        - {{to: done}}
    - id: confirm
      checkpoint: {{description: money leaves}}
      tools: [{{tool: {tools[1]}, args: {{order_id: "{{{{ slots.order_id }}}}"}}}}]
      say: "Refunded."
      transitions: [{{to: done}}]
    - id: done
      say: "Anything else?"
      terminal: true
""")
    files[f"scenarios/{u}.yaml"] = "---\n".join(docs)
    files[f"goals/{u}.yaml"] = f"""apiVersion: focal/v1
kind: Goal
metadata: {{name: goal-{u}, tenant: {t}}}
spec:
  agent: {a}
  trigger: {{scenario: {scen[0]}, reachedStep: done}}
  action: follow_up
  message: "Was this helpful? Reply 1-5."
"""
    offers = []
    for i in range(6):
        offers.append(f"""apiVersion: focal/v1
kind: Offering
metadata: {{name: offer-{u}-{i}, tenant: {t}}}
spec:
  type: product
  displayName: "Product {u}.{i}"
  price: {{amount: "{10 + i}.99", currency: EUR}}
  tags: [line-{u % 7}]
  faq: [{{q: "Is it in stock?", a: "Usually ships in 2 days."}}]
""")
    files[f"offerings/{u}.yaml"] = "---\n".join(offers)
    return files


def write_bundle(directory: Path, n_objects: int, tenants: int = 1) -> Path:
    """Write a bundle of about ``n_objects`` objects (plus one Tenant each) into ``directory``."""
    units = max(1, n_objects // UNIT_OBJECTS)
    directory.mkdir(parents=True, exist_ok=True)
    for ti in range(tenants):
        t = f"tenant-{ti}" if tenants > 1 else "bench"
        root = directory / t if tenants > 1 else directory
        (root).mkdir(parents=True, exist_ok=True)
        (root / "tenant.yaml").write_text(
            f"apiVersion: focal/v1\nkind: Tenant\nmetadata: {{name: {t}}}\nspec: {{tier: pro, channels: [whatsapp, sms]}}\n"
        )
        for u in range(units // tenants or 1):
            for rel, text in _unit(t, u).items():
                path = root / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("-n", "--objects", type=int, default=1000)
    parser.add_argument("--tenants", type=int, default=1)
    args = parser.parse_args()
    write_bundle(args.directory, args.objects, args.tenants)


if __name__ == "__main__":
    main()
