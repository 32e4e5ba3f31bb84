"""Regenerates tests/cases/<CODE>/ (run by hand: python tests/cases/generate.py [OUT_DIR]).

Each case is the small valid base bundle of the check tests (``tests/checks/bundles.py``) with
one mistake; « marks where the case's diagnostic must point, and becomes the expected
file:line:col in expect.json.
"""

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent.parent))  # run as a script from anywhere

from tests.checks.bundles import AGENT, BASE, CHANNEL, SCENARIO, TENANT, TOOL  # noqa: E402


def tool(name, body):
    return f"apiVersion: focal/v1\nkind: ToolEffect\nmetadata: {{name: {name}, tenant: t1}}\nspec:\n{body}"


IRREV = tool(
    "refund",
    '  effect: irreversible\n  confirmation: {required: true, prompt: "Refund it?"}\n  idempotencyKey: [id]\n  parameters: {type: object, properties: {id: {type: string}}}\n',
)
AGENT_REFUND = AGENT.replace("tools: [lookup]", "tools: [lookup, refund]")

CASES = {
    "FOC101": {"case.yaml": "a: [1, 2\n«"},
    "FOC102": {"case.yaml": "apiVersion: focal/v1\nkind: Agent\n«kind: Agent\n"},
    "FOC103": {"case.yaml": "«- apiVersion: focal/v1\n  kind: Agent\n"},
    "FOC104": {"case.yaml": "«# nothing here yet\n"},
    "FOC105": {
        "case.yaml": b"apiVersion: focal/v1\nkind: Agent\nmetadata: {name: caf\xe9, tenant: t1}\n"
    },
    "FOC107": {
        "case.yaml": "apiVersion: focal/v1\nkind: Agent\nmetadata: {name: deep, tenant: t1}\nspec: {catalog: "
        + "[" * 62
        + "«["
        + "]" * 63
        + "}\n"
    },
    "FOC108": {
        "case.yaml": "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: «[*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
    },
    "FOC109": {
        "case.yaml": "apiVersion: focal/v1\nkind: «Scenaro\nmetadata: {name: x, tenant: t1}\n"
    },
    "FOC110": {"case.yaml": "apiVersion: «focal/v2\nkind: Agent\n"},
    "FOC111": {"case.yaml": "«apiVersion: focal/v1\nmetadata: {name: x, tenant: t1}\n"},
    "FOC112": {
        "case.yaml": "apiVersion: focal/v1\nkind: Agent\nmetadata: {name: x, tenant: t1}\nspec: «!!python/object:os.system {}\n"
    },
    "FOC113": {
        "case.yaml": "apiVersion: focal/v1\nkind: Agent\nmetadata: {name: x, tenant: t1}\nspec:\n  ? «[a, b]\n  : 1\n"
    },
    "FOC114": {"agent.yaml": AGENT + "  settings: {llm: {temperature: «.nan}}\n"},
    "FOC115": {"agent.yaml": AGENT + "  settings: {llm: {temperature: «1e400}}\n"},
    "FOC201": {"agent.yaml": AGENT + "  «displayname: Bot\n"},
    "FOC202": {"scenario.yaml": SCENARIO.replace("spec:\n  entry: {step: start}\n", "«spec:\n")},
    "FOC203": {"agent.yaml": AGENT.replace("channels: [web]", "channels: «web")},
    "FOC204": {"agent.yaml": AGENT + "  settings: {llm: {temperature: «5}}\n"},
    "FOC205": {"tool.yaml": TOOL.replace("effect: pure", "effect: «puer")},
    "FOC206": {"tool.yaml": TOOL + "---\n" + tool("«Bad_Tool", "  effect: pure\n")},
    "FOC207": {
        "channel.yaml": CHANNEL.replace(
            "spec: {channel: webchat}",
            "spec: {channel: webchat, settings: {turn: {debounce: «soon}}}",
        )
    },
    "FOC208": {
        "tenant.yaml": TENANT.replace(
            "spec: {channels: [webchat, sms]}",
            'spec:\n  channels: [webchat, sms]\n  outbound: {quietHours: {start: "21:00", end: "08:00", timezone: «Europe/Pariss}}',
        )
    },
    "FOC209": {"tenant.yaml": TENANT.replace("{name: t1}", "{name: t1, tenant: «other}")},
    "FOC301": {"agent.yaml": AGENT.replace("channels: [web]", "channels: [«wbe]")},
    "FOC302": {"scenario.yaml": SCENARIO.replace("[{to: end}]", "[{to: «edn}]")},
    "FOC303": {
        "other.yaml": "apiVersion: focal/v1\nkind: Tenant\nmetadata: {name: t2}\nspec: {}\n---\n"
        + CHANNEL.replace("{name: web, tenant: t1}", "{name: sms-t2, tenant: t2}").replace(
            "webchat", "sms"
        ),
        "agent.yaml": AGENT.replace("channels: [web]", "channels: [web, «sms-t2]"),
    },
    "FOC304": {
        "tool.yaml": TOOL
        + "---\n"
        + tool("extra", "  effect: pure\n").replace("tenant: t1", "tenant: «t9")
    },
    "FOC305": {
        "scenario.yaml": SCENARIO.replace(
            '      say: "Hi"\n', '      say: "Hi"\n      tools: [{tool: «lookpu}]\n'
        )
    },
    "FOC306": {
        "tool.yaml": TOOL + "---\n" + tool("other", "  effect: pure\n"),
        "scenario.yaml": SCENARIO.replace(
            '      say: "Hi"\n', '      say: "Hi"\n      tools: [{tool: «other}]\n'
        ),
    },
    "FOC401": {"scenario.yaml": SCENARIO.replace("entry: {step: start}", "entry: {step: «strat}")},
    "FOC402": {
        "scenario.yaml": SCENARIO + '    - id: «orphan\n      say: "?"\n      terminal: true\n'
    },
    "FOC403": {
        "scenario.yaml": SCENARIO.replace("[{to: end}]", '[{to: end, when: "turn.x"}, {to: stuck}]')
        + '    - id: «stuck\n      say: "..."\n'
    },
    "FOC405": {
        "scenario.yaml": SCENARIO.replace("[{to: end}]", '[{to: end, when: "turn.x"}, {to: ping}]')
        + "    - id: «ping\n      transitions: [{to: pong}]\n    - id: pong\n      transitions: [{to: ping}]\n"
    },
    "FOC404": {
        "scenario.yaml": SCENARIO.replace(
            "    - id: end\n",
            '    - id: pay\n      checkpoint: {description: paid}\n      transitions: [{to: end, when: "turn.ok"}, {to: «start}]\n    - id: end\n',
        ).replace("[{to: end}]", "[{to: pay}]")
    },
    "FOC406": {
        "scenario.yaml": SCENARIO.replace(
            "      terminal: true\n", "      transitions: [{to: start}]\n"
        ).replace("  steps:\n", "  «steps:\n")
    },
    "FOC501": {
        "scenario.yaml": SCENARIO.replace(
            '      say: "Hi"\n',
            '      say: "Hi"\n      tools: [{tool: lookup, dependsOn: [«nothing]}]\n',
        )
    },
    "FOC502": {
        "tool.yaml": TOOL + "---\n" + tool("other", "  effect: pure\n"),
        "agent.yaml": AGENT.replace("tools: [lookup]", "tools: [lookup, other]"),
        "scenario.yaml": SCENARIO.replace(
            '      say: "Hi"\n',
            '      say: "Hi"\n      tools:\n        - {tool: lookup, dependsOn: «[other]}\n        - {tool: other, dependsOn: [lookup]}\n',
        ),
    },
    "FOC503": {"tool.yaml": TOOL.replace("effect: pure", "effect: «compensatable")},
    "FOC504": {
        "tool.yaml": TOOL.replace("effect: pure", "effect: compensatable\n  compensation: «refund")
        + "---\n"
        + IRREV
    },
    "FOC505": {
        "tool.yaml": TOOL
        + "---\n"
        + tool(
            "refund",
            "  effect: «irreversible\n  idempotencyKey: [id]\n  parameters: {type: object, properties: {id: {type: string}}}\n",
        )
    },
    "FOC506": {
        "tool.yaml": TOOL
        + "---\n"
        + tool(
            "refund",
            '  effect: «irreversible\n  confirmation: {required: true, prompt: "Refund it?"}\n',
        )
    },
    "FOC507": {
        "tool.yaml": TOOL
        + "---\n"
        + tool(
            "refund",
            '  effect: irreversible\n  confirmation: {required: true, prompt: "Refund it?"}\n  idempotencyKey: [«order]\n  parameters: {type: object, properties: {id: {type: string}}}\n',
        )
    },
    "FOC508": {
        "tool.yaml": TOOL + "---\n" + IRREV,
        "agent.yaml": AGENT_REFUND,
        "scenario.yaml": SCENARIO.replace(
            '      say: "Hi"\n',
            '      say: "Hi"\n      tools: [{tool: «refund, args: {id: "1"}}]\n',
        ),
    },
    "FOC509": {
        "scenario.yaml": SCENARIO.replace(
            '      say: "Hi"\n',
            '      say: "Hi"\n      tools: [{tool: lookup, args: {«idd: "1"}}]\n',
        )
    },
    "FOC510": {
        "tool.yaml": TOOL.replace(
            "  effect: pure\n",
            '  effect: pure\n  gateway: {type: http, endpoint: «"https://api.example.com/v1?api_key=9f8e7d6c5b4a"}\n',
        )
    },
    "FOC601": {
        "channel.yaml": CHANNEL.replace(
            "spec: {channel: webchat}", "spec: {channel: webchat, fallback: [«smss]}"
        )
    },
    "FOC602": {
        "channel.yaml": CHANNEL.replace(
            "spec: {channel: webchat}", "spec: {channel: webchat, fallback: [«chat2]}"
        )
        + "---\n"
        + CHANNEL.replace("name: web,", "name: chat2,")
    },
    "FOC603": {
        "channel.yaml": CHANNEL.replace(
            "spec: {channel: webchat}", "spec: {channel: webchat, fallback: [sms1]}"
        )
        + "---\n"
        + CHANNEL.replace("name: web,", "name: sms1,").replace(
            "spec: {channel: webchat}", "spec: {channel: sms, fallback: [«sms2]}"
        )
        + "---\n"
        + CHANNEL.replace("name: web,", "name: sms2,").replace(
            "spec: {channel: webchat}", "spec: {channel: sms, fallback: [sms1]}"
        )
    },
    "FOC604": {
        "channel.yaml": CHANNEL
        + "---\n"
        + CHANNEL.replace("name: web,", "name: sms1,").replace(
            "spec: {channel: webchat}",
            'spec:\n  channel: sms\n  format: {signature: «"'
            + "Thank you for contacting us. " * 6
            + '"}',
        )
    },
    "FOC605": {
        "tenant.yaml": TENANT.replace("[webchat, sms]", "[sms]"),
        "agent.yaml": AGENT.replace("channels: [web]", "channels: [«web]"),
    },
    "FOC701": {"scenario.yaml": SCENARIO.replace('say: "Hi"', 'say: «"Hi {{ profile.name"')},
    "FOC702": {
        "scenario.yaml": SCENARIO.replace(
            "entry: {step: start}", "entry: {step: start, when: «\"intent = 'x'\"}"
        )
    },
    "FOC703": {
        "scenario.yaml": SCENARIO.replace('say: "Hi"', 'say: «"{{ profile.__class__.__mro__ }}"')
    },
    "FOC704": {"scenario.yaml": SCENARIO.replace('say: "Hi"', 'say: "Hi {{ «profil.name }}"')},
    "FOC801": {"tool.yaml": TOOL + "---\n" + TOOL.replace("{name: lookup,", "{name: «lookup,")},
    "FOC802": {
        "scenario.yaml": SCENARIO + '    - id: «end\n      say: "again"\n      terminal: true\n'
    },
    "FOC803": {
        "scenario.yaml": SCENARIO.replace(
            '      say: "Hi"\n', '      say: "Hi"\n      tools: [{tool: lookup}, {tool: «lookup}]\n'
        )
    },
}
EXTRA_ARGS = {"FOC100": ["missing.yaml"]}


OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT


def write_case(code, files, extra=None):
    d = OUT / code
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    merged = dict(BASE)
    merged.update(files)
    expected = []
    for name, content in sorted(merged.items()):
        raw = content if isinstance(content, bytes) else content.encode()
        marker = "«".encode()
        while marker in raw:
            off = raw.index(marker)
            line = raw.count(b"\n", 0, off) + 1
            col = off - (raw.rfind(b"\n", 0, off) + 1) + 1
            expected.append({"code": code, "file": name, "line": line, "column": col})
            raw = raw[:off] + raw[off + len(marker) :]
        (d / name).write_bytes(raw)
    if code == "FOC105":
        expected.append({"code": code, "file": "case.yaml", "line": 3, "column": 21})
    if extra:
        (d / "args.json").write_text(json.dumps(extra) + "\n")
        expected.append({"code": code, "file": extra[0], "line": 1, "column": 1})
    (d / "expect.json").write_text(json.dumps({"diagnostics": expected}, indent=2) + "\n")


for code, files in CASES.items():
    write_case(code, files)
for code, extra in EXTRA_ARGS.items():
    write_case(code, {}, extra)
print(len(CASES) + len(EXTRA_ARGS))
