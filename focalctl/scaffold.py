"""``focalctl init``: a small, valid, commented bundle to start from (plus its schemas)."""

from __future__ import annotations

from pathlib import Path

from focalctl import schema

_MODELINE = "# yaml-language-server: $schema=schemas/{kind}.schema.json\n"

FILES: dict[str, tuple[str, str]] = {
    "tenant.yaml": (
        "tenant",
        """\
# The tenant: defaults every agent inherits, and where it may reach customers.
apiVersion: focal/v1
kind: Tenant
metadata:
  name: my-company            # the tenant id: lowercase letters, digits and '-'
spec:
  displayName: My Company
  tier: free                  # free | pro | enterprise (sets rate limits)
  businessHours:              # now.businessOpen in templates; goals can wait for it
    timezone: Europe/London
    weekly: {mon: ["09:00-17:30"], tue: ["09:00-17:30"], wed: ["09:00-17:30"], thu: ["09:00-17:30"], fri: ["09:00-16:00"]}
    holidays: ["2026-12-25"]
  channels: [webchat, sms]    # channel types agents of this tenant may use
  defaults:                   # settings every agent, scenario and step inherits
    llm: {temperature: 0.5, maxTokens: 800}
    language: en
  outbound:
    requireConsent: true
    quietHours: {start: "21:00", end: "08:00", timezone: Europe/London}
""",
    ),
    "channels.yaml": (
        "channelprofile",
        """\
# Channel profiles: how the agent speaks on each channel. Omitted fields take the
# channel type's defaults (e.g. sms: 160 characters, 800ms debounce).
apiVersion: focal/v1
kind: ChannelProfile
metadata: {name: web, tenant: my-company}
spec:
  channel: webchat
  settings:                   # a full settings block: after the agent's, before the scenario's
    turn: {debounce: 600ms}   # messages closer than this are folded into one turn
  fallback: [sms]             # where to go when delivery fails (must send outbound)
---
apiVersion: focal/v1
kind: ChannelProfile
metadata: {name: sms, tenant: my-company}
spec:
  channel: sms
  settings: {llm: {maxTokens: 200}}   # short answers for SMS
""",
    ),
    "tools.yaml": (
        "tooleffect",
        """\
# Tools and their side effects: pure | idempotent | compensatable | irreversible.
apiVersion: focal/v1
kind: ToolEffect
metadata: {name: lookup-order, tenant: my-company}
spec:
  description: Read an order's status.
  effect: pure
  gateway:
    type: http
    endpoint: "https://api.example.com/orders/{{ args.order_id }}"
    auth: {secretRef: ORDERS_API_TOKEN}   # secrets are referenced by name, never inlined
  parameters:
    type: object
    properties: {order_id: {type: string}}
    required: [order_id]
""",
    ),
    "agent.yaml": (
        "agent",
        """\
# An agent: the channels it speaks on (first = default), the tools it may call,
# and the scenarios it runs, in priority order.
apiVersion: focal/v1
kind: Agent
metadata: {name: assistant, tenant: my-company}
spec:
  displayName: Assistant
  channels: [web, sms]
  tools: [lookup-order]
  scenarios: [order-status]
  goals: [order-check-in]
  catalog: {line: core}       # offerings whose labels match; templates read offerings.NAME
""",
    ),
    "offerings.yaml": (
        "offering",
        """\
# The catalog: what agents may offer. An agent's catalog selector picks by labels.
apiVersion: focal/v1
kind: Offering
metadata: {name: express-delivery, tenant: my-company, labels: {line: core}}
spec:
  type: service
  displayName: Express delivery
  price: {amount: 4.99, currency: GBP}
""",
    ),
    "scenario.yaml": (
        "scenario",
        """\
# A scenario is a graph of steps. Step ids are stable keys: renaming one is a migration.
apiVersion: focal/v1
kind: Scenario
metadata: {name: order-status, tenant: my-company}
spec:
  entry: {step: ask, when: "intent == 'order_status'"}
  steps:
    - id: ask
      say:                    # variants: channel profile name > channel type > default
        default: "What is your order number? You'll find it in your confirmation email."
        sms: "Your order number?"
      collects:               # a bare name, or a typed slot checked before it is stored
        - name: order_id
          type: string
          pattern: "[A-Z]-[0-9]+"
          prompt: "Order numbers look like A-1234. Which one is it?"
      transitions:
        - {to: answer, when: "slots.order_id"}
    - id: answer
      tools:                  # at: before | during | after; when: a condition
        - {tool: lookup-order, at: before, args: {order_id: "{{ slots.order_id }}"}, saveAs: order}
      say: "Order {{ slots.order_id }} is {{ slots.order.status }}.{% if slots.order.status == 'delayed' %} {{ offerings['express-delivery'].displayName }} is free on your next order.{% endif %}"
      terminal: true
""",
    ),
    "goals.yaml": (
        "goal",
        """\
# A goal schedules a follow-up when a conversation reaches (or leaves without) a step.
apiVersion: focal/v1
kind: Goal
metadata: {name: order-check-in, tenant: my-company}
spec:
  agent: assistant
  trigger: {scenario: order-status, reachedStep: answer}
  when: "slots.order.status == 'delayed'"   # only for delayed orders
  action: follow_up
  after: 24h
  withinBusinessHours: true
  message: "Hi, has order {{ slots.order_id }} arrived? Reply YES or NO."
  channels: [sms]
""",
    ),
}


# What focalctl writes beside a bundle and nobody should commit: the state store, the file
# target and the partial-parse cache (.focal/), and plans saved with `plan -out`.
GITIGNORE = (".focal/", "*.plan")


def init(directory: Path, *, force: bool = False) -> list[Path]:
    """Write the starter bundle; refuses a non-empty directory unless ``force``."""
    if directory.exists() and not directory.is_dir():
        raise FileExistsError(f"{directory} exists and is not a directory")
    if directory.exists() and any(directory.iterdir()) and not force:
        raise FileExistsError(f"{directory} is not empty; choose a new directory or pass --force")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (kind, body) in FILES.items():
        path = directory / name
        path.write_text(_MODELINE.format(kind=kind) + body, encoding="utf-8")
        written.append(path)
    if _gitignore(directory / ".gitignore"):
        written.append(directory / ".gitignore")
    written.extend(schema.write(directory / "schemas"))
    return written


def _gitignore(path: Path) -> bool:
    """Write (or, with ``--force``, complete) the bundle's ``.gitignore``; keep what is there."""
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    missing = [line for line in GITIGNORE if line not in existing.splitlines()]
    if not missing:
        return False
    head = "" if not existing or existing.endswith("\n") else "\n"
    path.write_text(existing + head + "\n".join(missing) + "\n", encoding="utf-8")
    return True
