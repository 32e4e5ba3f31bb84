"""Step ``say`` variants: keys resolve, a default exists, fixed texts fit where they are sent."""

from __future__ import annotations

from pathlib import Path

from .bundles import AGENT, CHANNEL, diagnostics, doc, found, scenario, write

SMS = doc("ChannelProfile", "sms-main", "  channel: sms\n")
CHANNELS = CHANNEL + "---\n" + SMS
AGENT2 = AGENT.replace("channels: [web]", "channels: [web, sms-main]")
LONG = "x" * 161


def run(tmp_path: Path, say: str) -> set[tuple[str, str, str]]:
    steps = f"    - id: start\n      terminal: true\n      say:\n{say}"
    return found(write(tmp_path, channel=CHANNELS, agent=AGENT2, scenario=scenario(steps)))


def test_variants_by_profile_type_and_default_are_fine(tmp_path: Path) -> None:
    say = (
        '        default: "Hello {{ profile.first_name }}, how can I help?"\n'
        '        sms: "Hi! Reply HELP for options."\n'
        '        web: "Hello there"\n'
    )
    assert run(tmp_path, say) == set()


def test_unknown_key_and_missing_default(tmp_path: Path) -> None:
    assert run(tmp_path, '        sms-mian: "Hi"\n        webchat: "Hi"\n') == {
        ("FOC607", "scenario.yaml", "/spec/steps/0/say/sms-mian"),
        ("FOC606", "scenario.yaml", "/spec/steps/0/say"),
    }
    hints = {d.code: d.hint for d in diagnostics(tmp_path)}
    assert hints["FOC607"] == "did you mean 'sms-main'?"


def test_fixed_text_must_fit_each_channel_it_is_sent_on(tmp_path: Path) -> None:
    # default goes to sms-main (160) because no sms variant covers it; web allows 10,000
    assert run(tmp_path, f'        default: "{LONG}"\n') == {
        ("FOC604", "scenario.yaml", "/spec/steps/0/say/default")
    }
    assert run(tmp_path, f'        default: "{LONG}"\n        sms: "short"\n') == set()
    assert run(tmp_path, f'        default: "short"\n        sms-main: "{LONG}"\n') == {
        ("FOC604", "scenario.yaml", "/spec/steps/0/say/sms-main")
    }


def test_a_plain_say_must_fit_the_agents_channels(tmp_path: Path) -> None:
    steps = f'    - id: start\n      terminal: true\n      say: "{LONG}"\n'
    root = write(tmp_path, channel=CHANNELS, agent=AGENT2, scenario=scenario(steps))
    assert found(root) == {("FOC604", "scenario.yaml", "/spec/steps/0/say")}
    (diag,) = diagnostics(root)
    assert "161 characters" in diag.message and "sms-main" in diag.message


def test_each_variant_template_is_parsed(tmp_path: Path) -> None:
    say = '        default: "Hi {{ profil.name }}"\n        sms: "Hi {{ "\n'
    assert run(tmp_path, say) == {
        ("FOC704", "scenario.yaml", "/spec/steps/0/say/default"),
        ("FOC701", "scenario.yaml", "/spec/steps/0/say/sms"),
    }
