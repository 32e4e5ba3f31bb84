"""One bad value does not hide other problems: a document that fails its schema check still
gets the checks that need only its own data (duplicate step ids and bindings, templates), once,
with the cache on and off; a valid document gets them from the object checks, never twice."""

from __future__ import annotations

from pathlib import Path

from focalctl.partial import PartialCache
from focalctl.validate import validate_paths

from .bundles import diagnostics, scenario, write

BROKEN = scenario(
    """    - id: start
      say: "Hi {{ profil.first_name }}"
      tools:
        - {tool: lookup, at: befor}
        - {tool: lookup}
      transitions: [{to: end}]
    - id: end
      say: "Bye"
      terminal: true
    - id: end
      when: "intent = 'x'"
"""
)


def _found(root: Path) -> list[tuple[str, str | None]]:
    return sorted((d.code, d.pointer) for d in diagnostics(root))


def test_a_bad_binding_value_leaves_the_documents_other_checks_running(tmp_path: Path) -> None:
    found = _found(write(tmp_path, scenario=BROKEN))
    assert ("FOC205", "/spec/steps/0/tools/0/at") in found  # the bad value itself
    assert ("FOC802", "/spec/steps/2/id") in found  # duplicate step id
    assert ("FOC803", "/spec/steps/0/tools/1/tool") in found  # duplicate binding
    assert ("FOC704", "/spec/steps/0/say") in found  # unknown template variable
    assert found.count(("FOC802", "/spec/steps/2/id")) == 1


def test_the_same_checks_on_a_valid_document_are_reported_once(tmp_path: Path) -> None:
    valid = BROKEN.replace("at: befor", "at: before").replace(
        "    - id: end\n      when: \"intent = 'x'\"\n", "    - id: end\n      say: again\n"
    )
    found = _found(write(tmp_path, scenario=valid))
    assert found.count(("FOC802", "/spec/steps/2/id")) == 1
    assert found.count(("FOC803", "/spec/steps/0/tools/1/tool")) == 1
    assert found.count(("FOC704", "/spec/steps/0/say")) == 1


def test_a_value_of_the_wrong_type_is_skipped_not_guessed(tmp_path: Path) -> None:
    odd = scenario(
        """    - id: [start]
      tools: 3
    - 7
    - id: start
      tools: [{tool: 1}, {tool: 1}, x]
      say: 5
      terminal: true
"""
    )
    codes = {code for code, _ in _found(write(tmp_path, scenario=odd))}
    assert not codes & {"FOC802", "FOC803", "FOC701"}
    assert codes  # the schema errors themselves


def test_the_cached_run_reports_what_the_cold_run_does(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    root = write(tmp_path / "b", scenario=BROKEN)
    cache_dir = tmp_path / "cache"
    cold = validate_paths([root], PartialCache.off()).diagnostics
    first = PartialCache.open([root], cache_dir)
    validate_paths([root], first)
    first.save()
    warm_cache = PartialCache.open([root], cache_dir)
    warm = validate_paths([root], warm_cache).diagnostics
    assert warm_cache.stats().files_restored == 5
    assert [d.to_json() for d in warm] == [d.to_json() for d in cold]
