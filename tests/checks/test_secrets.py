"""FOC510: literal secrets in the bundle, found even in documents that failed the schema."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from focalctl.checks.secrets import secret_reason

from .bundles import AGENT, TOOL, diagnostics, found, scenario, write

# Fake credentials, assembled so that no token-shaped literal sits in the source.
RANDOM = "a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuV"
SHAPES = {
    "stripe": "sk_" + "live_" + RANDOM,
    "openai": "sk-" + RANDOM,
    "github": "ghp_" + RANDOM + "wx",
    "slack": "xoxb-" + "1234567890-" + RANDOM,
    "aws": "AKIA" + "IOSFODNN7EXAMPLE",
    "bearer": "Bearer " + RANDOM,
    "jwt": "eyJ" + "hbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N",
    "url-password": "https://admin:" + "hunter2@crm.example.com/api",
    "url-query": "https://api.example.com/v1?api_key=" + "9f8e7d6c5b4a",
    "hex": "9f86d081884c7d659a2feaa0c55ad015" + "a3bf4f1b",
    "base64": RANDOM + "+/Zz",
    "lowercase-random": "k3j5h2l4m5n6p7q8r9s0t1v2w3x4y5z6",
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_token_shapes_are_secrets_in_a_tool_spec(name: str) -> None:
    assert secret_reason("ToolEffect", ("spec", "x"), "x", SHAPES[name]) is not None


@pytest.mark.parametrize(
    "text",
    [
        "order-lookup-with-tracking-and-shipment-v2",  # a long name
        "550e8400-e29b-41d4-a716-446655440000",  # a UUID (an id, not a credential)
        "Bearer {{ args.token }}",  # a template
        "https://{{ tenant.name }}.zendesk.com/api/v2/tickets",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",  # long but not random
        "Refunds over 100 EUR need a manager: Bearer tokens are never shown",
    ],
)
def test_ordinary_values_are_not_secrets(text: str) -> None:
    assert secret_reason("ToolEffect", ("spec", "x"), "x", text) is None


def test_high_entropy_only_counts_in_tool_tenant_agent_channel_specs() -> None:
    assert secret_reason("Agent", ("spec", "catalog", "k"), "k", SHAPES["hex"])
    assert secret_reason("Scenario", ("spec", "tags", 0), "tags", SHAPES["hex"]) is None
    assert secret_reason("Scenario", ("spec", "x"), "x", SHAPES["github"])  # shapes: anywhere
    assert secret_reason("ToolEffect", ("spec", "description"), "description", RANDOM) is None


@pytest.mark.parametrize(
    "key", ["password", "secret", "token", "apiKey", "api_key", "Authorization"]
)
def test_literal_under_a_credential_key(key: str) -> None:
    assert secret_reason("Scenario", ("spec", "args", key), key, "hunter2")
    assert secret_reason("Scenario", ("spec", "args", key), key, "{{ slots.pw }}") is None


def test_literal_auth_token_is_both_a_schema_error_and_a_secret(tmp_path: Path) -> None:
    tool = TOOL + (
        "  gateway:\n"
        "    type: http\n"
        "    endpoint: https://crm.example.com\n"
        f"    auth: {{token: {SHAPES['stripe']}}}\n"
    )
    root = write(tmp_path, tool=tool)
    assert found(root) == {
        ("FOC201", "tool.yaml", "/spec/gateway/auth/token"),
        ("FOC202", "tool.yaml", "/spec/gateway/auth/secretRef"),
        ("FOC510", "tool.yaml", "/spec/gateway/auth/token"),
    }
    secret = next(d for d in diagnostics(root) if d.code == "FOC510")
    assert (secret.line, secret.column) == (10, 19)
    assert "secretRef" in (secret.hint or "")


def test_secret_ref_is_fine(tmp_path: Path) -> None:
    tool = TOOL + (
        "  gateway: {type: http, endpoint: 'https://crm.example.com', auth: {secretRef: CRM_TOKEN}}\n"
    )
    assert found(write(tmp_path, tool=tool)) == set()


def test_literal_in_binding_args_and_agent_spec(tmp_path: Path) -> None:
    tool = TOOL.replace("properties:", "additionalProperties: true, properties:")
    steps = (
        "    - id: start\n"
        "      terminal: true\n"
        '      tools: [{tool: lookup, args: {password: "hunter2", id: "{{ profile.id }}"}}]\n'
    )
    agent = AGENT + f"  catalog: {{line: {SHAPES['hex']}}}\n"
    root = write(tmp_path, tool=tool, agent=agent, scenario=scenario(steps))
    assert found(root, "FOC5") == {
        ("FOC510", "scenario.yaml", "/spec/steps/0/tools/0/args/password"),
        ("FOC510", "agent.yaml", "/spec/catalog/line"),
    }


@pytest.mark.parametrize(
    "text",
    [
        "{{ '" + SHAPES["stripe"] + "' }}",  # a literal inside a template expression
        '{{ profile.key or "' + SHAPES["stripe"] + '" }}',  # ... among other things
        "https://api.example.com/v1?access_token={{ '' }}abcd1234SECRET",  # after an empty one
        "https://hooks.slack.com/services/" + "T0123ABCD/B0123ABCD/" + RANDOM[:24],
        "https://maps.example.com/api?key=" + "AIza" + "SyA-" + RANDOM[:31],
    ],
    ids=["template-literal", "literal-in-expression", "after-empty-expression", "slack", "key"],
)
def test_secrets_hidden_in_templates_and_urls(text: str) -> None:
    assert secret_reason("Scenario", ("spec", "x"), "x", text) is not None


def test_template_expressions_that_are_not_literals_are_still_ignored() -> None:
    for text in ("{{ 'Hello' }} {{ user.name }}", "?token={{ t }}&x=1", "{# sk-abc #}"):
        assert secret_reason("Scenario", ("spec", "x"), "x", text) is None


@pytest.mark.parametrize(
    "token",
    ["a" * 1_000_000, "eyJ-" * 250_000, "a://" * 250_000, "{{" * 500_000, "sk-a.eyJa" * 111_111],
    ids=["alnum", "jwt-starts", "url-starts", "template-openers", "mixed"],
)
def test_one_megabyte_token_is_scanned_in_linear_time(token: str) -> None:
    """Every pattern was quadratic on some long unbroken token (200 KB: 226 s)."""
    start = time.perf_counter()
    secret_reason("ToolEffect", ("spec", "x"), "x", token)
    assert time.perf_counter() - start < 3


def test_validate_time_on_a_long_token_is_that_of_an_ordinary_file(tmp_path: Path) -> None:
    """A file holding one 1 MB token validates within twice the time of a 1 MB ordinary file
    (both measured here, in the same process)."""
    ordinary, token = tmp_path / "ordinary", tmp_path / "token"
    lines = "".join(f"    k{i}: value number {i}\n" for i in range(40_000))
    agent = AGENT + "  catalog:\n" + lines[:1_000_000]
    write(ordinary.mkdir() or ordinary, agent=agent[: agent.rfind("\n") + 1])
    write(token.mkdir() or token, agent=AGENT + "  catalog: {line: " + "a1" * 500_000 + "}\n")

    def timed(root: Path) -> float:
        start = time.perf_counter()
        diagnostics(root)
        return time.perf_counter() - start

    timed(ordinary)  # warm imports
    assert timed(token) <= 2 * timed(ordinary)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "github"])
def test_no_output_format_prints_a_secret_quoted_by_a_diagnostic(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``secretRef: sk_live_...`` is an invalid name (FOC206, whose message quotes the value)
    and a secret (FOC510): the value is masked in messages and hints, not only in the source."""
    from typer.testing import CliRunner

    from focalctl.cli.main import app

    tool = TOOL + (
        "  gateway: {type: http, endpoint: 'https://crm.example.com', "
        f"auth: {{secretRef: {SHAPES['stripe']}}}}}\n"
    )
    root = write(tmp_path, tool=tool)
    codes = {d.code for d in diagnostics(root)}
    assert {"FOC206", "FOC510"} <= codes
    monkeypatch.chdir(root)
    result = CliRunner().invoke(app, ["validate", "--no-cache", "-f", fmt, "."])
    assert result.exit_code == 1
    assert RANDOM not in result.output and RANDOM[:12] not in result.output
    assert "FOC206" in result.output


def test_invalid_secret_ref_hint_describes_its_uppercase_pattern(tmp_path: Path) -> None:
    tool = TOOL + (
        "  gateway: {type: http, endpoint: 'https://crm.example.com', "
        "auth: {secretRef: zendesk-token}}\n"
    )
    bad = next(d for d in diagnostics(write(tmp_path, tool=tool)) if d.code == "FOC206")
    assert "uppercase" in (bad.hint or "") and "lowercase" not in (bad.hint or "")


def test_a_channel_profiles_delivery_auth_takes_only_a_secret_ref() -> None:
    path = ("spec", "delivery", "auth", "header")
    why = secret_reason("ChannelProfile", path, "header", "plain-value")
    assert why == "a literal credential in delivery.auth; only secretRef is allowed there"
    ref = ("spec", "delivery", "auth", "secretRef")
    assert secret_reason("ChannelProfile", ref, "secretRef", "ACME_SMS_HOOK") is None
    url = ("spec", "delivery", "endpoint")
    assert secret_reason("ChannelProfile", url, "endpoint", SHAPES["url-query"])
