"""Invariant 9, names resolved: slots by data flow, tenant/agent/args/offerings/now by what
exists; carets on the variable, did-you-means in the hints."""

from __future__ import annotations

import shutil
from pathlib import Path

from focalctl.validate import validate_paths

from .bundles import AGENT, TENANT, doc, found, scenario, write

DENTAL = Path(__file__).parent / "dental"


def test_the_dental_clinics_four_template_mistakes(tmp_path: Path) -> None:
    """The mistakes a new user made that validated clean, each now positioned and hinted."""
    shutil.copytree(DENTAL, tmp_path / "b")
    diags = validate_paths([tmp_path / "b"]).diagnostics
    got = {(d.code, Path(d.file or "").name, d.line, d.column, d.hint) for d in diags}
    assert got == {
        ("FOC705", "booking.yaml", 8, 27, "did you mean 'tenant.displayName'?"),
        ("FOC704", "booking.yaml", 13, 29, "did you mean 'slots.patient_name'?"),
        ("FOC705", "booking.yaml", 13, 81, "did you mean 'slots.patient_name'?"),
        ("FOC705", "booking.yaml", 40, 19, "did you mean 'slots.patient_name'?"),
        ("FOC705", "tools.yaml", 7, 51, "did you mean 'args.slot_label'?"),
    }
    carets = {(d.line, d.column, d.end_column) for d in diags if d.code == "FOC705"}
    assert (8, 27, 27 + len("tenant.display_name")) in carets


def test_fixed_the_dental_bundle_is_clean(tmp_path: Path) -> None:
    root = tmp_path / "b"
    shutil.copytree(DENTAL, root)
    for name, old, new in [
        ("booking.yaml", "tenant.display_name", "tenant.displayName"),
        ("booking.yaml", "{{ patient_name }}", "{{ slots.patient_name }}"),
        ("booking.yaml", " {{ slots.dentist_name }} has time.", ""),
        ("booking.yaml", "slots.patient_nme", "slots.patient_name"),
        ("tools.yaml", "args.slot_lable", "args.slot_label"),
    ]:
        path = root / name
        path.write_text(path.read_text().replace(old, new))
    assert validate_paths([root]).diagnostics == []


BRANCHY = (
    "    - id: start\n      say: Hi\n      collects: [kind]\n      transitions:\n"
    "        - {to: look, when: \"slots.kind == 'a'\"}\n        - {to: done}\n"
    "    - id: look\n      tools: [{tool: lookup, at: before, saveAs: order}]\n"
    "      say: 'Found {{ slots.order.id }}'\n      transitions: [{to: done}]\n"
    '    - id: done\n      say: "{{ slots.order.id }} {{ slots.kind }}"\n      terminal: true\n'
)


def test_a_slot_set_on_one_branch_only_may_be_undefined(tmp_path: Path) -> None:
    assert found(write(tmp_path, scenario=scenario(BRANCHY))) == {
        ("FOC706", "scenario.yaml", "/spec/steps/2/say")
    }


def test_a_step_says_its_own_slot_before_asking_for_it(tmp_path: Path) -> None:
    steps = (
        "    - id: start\n      say: 'You said {{ slots.kind }}'\n      collects: [kind]\n"
        '      transitions: [{to: end, when: "slots.kind"}]\n'
        "    - id: end\n      say: Bye\n      terminal: true\n"
    )
    root = write(tmp_path, scenario=scenario(steps))
    assert found(root) == {("FOC706", "scenario.yaml", "/spec/steps/0/say")}


def test_offerings_resolve_against_the_agents_catalog(tmp_path: Path) -> None:
    offers = (
        doc("Offering", "fibre", "  type: plan\n  displayName: Fibre\n").replace(
            "tenant: t1}", "tenant: t1, labels: {line: net}}"
        )
        + "---\n"
        + doc("Offering", "tv", "  type: plan\n  displayName: TV\n")
    )
    agent = AGENT + "  catalog: {line: net}\n"
    steps = (
        "    - id: start\n      terminal: true\n"
        '      say: "{{ offerings.fibre.displayName }} {{ offerings.tv.price }} '
        '{{ offerings.fibr }}"\n'
    )
    root = write(tmp_path, offers=offers, agent=agent, scenario=scenario(steps))
    assert found(root) == {
        ("FOC705", "scenario.yaml", "/spec/steps/0/say"),
        ("FOC705", "scenario.yaml", "/spec/steps/0/say"),
    }
    messages = sorted(d.message for d in validate_paths([root]).diagnostics)
    assert "'offerings.fibr' does not resolve" in messages[0]
    assert "catalog of agent bot does not select it" in messages[1]


def test_a_catalog_that_selects_nothing_is_a_warning(tmp_path: Path) -> None:
    offers = doc("Offering", "tv", "  type: plan\n  displayName: TV\n")
    root = write(tmp_path, offers=offers, agent=AGENT + "  catalog: {line: nett}\n")
    assert found(root) == {("FOC310", "agent.yaml", "/spec/catalog")}


def test_now_business_open_needs_business_hours(tmp_path: Path) -> None:
    steps = '    - id: start\n      terminal: true\n      say: "{{ now.businessOpen }} {{ now.hour }}"\n'
    root = write(tmp_path, scenario=scenario(steps))
    assert found(root) == {
        ("FOC705", "scenario.yaml", "/spec/steps/0/say"),
        ("FOC705", "scenario.yaml", "/spec/steps/0/say"),
    }
    tenant = TENANT.replace(
        "spec: {channels: [webchat, sms]}",
        "spec:\n  channels: [webchat, sms]\n  businessHours: {timezone: UTC}\n",
    )
    assert len(found(write(tmp_path, tenant=tenant, scenario=scenario(steps)))) == 1
