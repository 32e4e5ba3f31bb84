"""The runtime's error vocabulary: one table, one spelling, documented as it is."""

from __future__ import annotations

import re

from runtime.errors import ApiError, Reason
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_every_code_is_a_snake_case_slug_with_a_meaning_and_a_fix() -> None:
    for code in [*Reason, *ApiError]:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", code.value), code
        assert code.meaning and code.fix, code


def test_bad_input_is_a_4xx_and_only_an_unready_runtime_a_5xx() -> None:
    fives = {c for c in ApiError if c.status >= 500}
    assert fives == {ApiError.STATE_UNAVAILABLE}
    assert all(400 <= c.status < 500 for c in ApiError if c not in fives)


def test_the_readme_tables_are_the_code_tables() -> None:
    for r in Reason:
        assert f"| `{r}` | {r.meaning} | {r.fix} |" in README, r
    for c in ApiError:
        assert f"| `{c}` | {c.status} | {c.meaning} | {c.fix} |" in README, c
    documented = set(re.findall(r"^\| `([a-z_]+)` \| ", README, flags=re.M))
    assert {*map(str, Reason), *map(str, ApiError)} <= documented
