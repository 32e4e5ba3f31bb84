"""Root causes first: syntax (1xx) and schema (2xx) errors sort before what they cause."""

from __future__ import annotations

from pathlib import Path

from focalctl.validate import validate_paths

from .bundles import SCENARIO, write


def test_a_syntax_error_comes_before_the_reference_errors_it_causes(tmp_path: Path) -> None:
    """A dedented key breaks scenario.yaml before its name is read: the agent's (and any
    other file's) 'unknown scenario' follows the FOC101 that explains it, whatever the
    file names."""
    broken = SCENARIO.replace("\nmetadata:", "\n metadata:", 1)
    assert broken != SCENARIO
    root = write(tmp_path, scenario=broken)
    codes = [d.code for d in validate_paths([root]).diagnostics]
    assert codes[0] == "FOC101" and "FOC301" in codes
    assert codes == sorted(codes, key=lambda c: min(int(c[3]), 3))
