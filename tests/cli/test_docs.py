"""docs/ is generated from the models, the code registry and the CLI, and committed: regenerating
gives exactly what is in the repository, and ``--check`` fails when it does not."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from focalctl import docsgen
from focalctl.diagnostics import CODES
from focalctl.lint import lint_paths
from focalctl.validate import validate_paths
from runtime.spec import KIND_SPECS
from tests.conftest import REPO

DOCS = REPO / "docs"


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return docsgen.render_all()


def test_committed_docs_are_what_the_code_generates(rendered: dict[str, str]) -> None:
    assert sorted(rendered) == DOC_FILES
    assert sorted(p.name for p in DOCS.iterdir()) == DOC_FILES, "docs/ holds other files"
    for name, text in rendered.items():
        assert (DOCS / name).read_text(encoding="utf-8") == text, (
            f"docs/{name} is stale: run python -m focalctl.docsgen"
        )


def test_generation_is_deterministic(rendered: dict[str, str]) -> None:
    assert docsgen.render_all() == rendered
    text = "".join(rendered.values())
    assert str(REPO) not in text and " at 0x" not in text


def test_check_passes_when_current_and_fails_on_a_stale_or_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "docs"
    assert docsgen.main(["--out", str(out)]) == 0
    assert docsgen.main(["--out", str(out), "--check"]) == 0
    capsys.readouterr()

    (out / "cli.md").write_text("# hand-edited\n", encoding="utf-8")
    assert docsgen.main(["--out", str(out), "--check"]) == 1
    err = capsys.readouterr().err
    assert "out of date: cli.md" in err and "python -m focalctl.docsgen --out" in err
    assert "Traceback" not in err

    (out / "bundle.md").unlink()
    assert docsgen.main(["--out", str(out), "--check"]) == 1
    assert "bundle.md, cli.md" in capsys.readouterr().err

    assert docsgen.main(["--out", str(out)]) == 0
    assert "wrote 2 document(s)" in capsys.readouterr().out
    assert docsgen.main(["--out", str(out), "--check"]) == 0


def test_the_module_runs_and_check_exits_1_without_a_traceback(tmp_path: Path) -> None:
    shutil.copytree(DOCS, tmp_path / "docs")
    (tmp_path / "docs" / "diagnostics.md").write_text("stale\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "focalctl.docsgen", "--out", "docs", "--check"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert "diagnostics.md" in proc.stderr and "Traceback" not in proc.stderr


def test_every_kind_field_code_and_command_is_documented(rendered: dict[str, str]) -> None:
    bundle, diagnostics, cli = rendered["bundle.md"], rendered["diagnostics.md"], rendered["cli.md"]
    for kind, model in KIND_SPECS.items():
        assert f"## Kind `{kind}`" in bundle
        for name, info in model.model_fields.items():
            assert f"| `{info.alias or name}` |" in bundle, f"{kind}.{name}"
    for model, _ in docsgen.documented_models():
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no description"
    for code in CODES:
        assert f"### {code}\n" in diagnostics
    words = [w for w, _ in docsgen.command_paths(docsgen._cli_root())]
    assert {("validate",), ("plan",), ("apply",), ("serve",)} <= set(words)
    for w in words:
        assert f"## `focalctl {' '.join(w)}`" in cli
    assert "`--strict`" in cli and "`--out`" in cli


def test_a_good_example_is_the_valid_base_bundle(tmp_path: Path) -> None:
    """The docs show a case's good version only where the case is the base bundle with one file
    changed: the base bundle must then be clean, for validate and for the lint code shown."""
    base = tmp_path / "base"
    shutil.copytree(docsgen.CASES / docsgen.BASE_CASE, base)
    for meta in docsgen.CASE_META:
        (base / meta).unlink(missing_ok=True)
    cwd = os.getcwd()
    os.chdir(base)
    try:
        assert validate_paths(["."]).diagnostics == []
        linted = {d.code for d in lint_paths([Path(".")]).diagnostics}
    finally:
        os.chdir(cwd)
    text = docsgen.render_diagnostics()
    shown = {
        section.split("\n", 1)[0] for section in text.split("\n### ")[1:] if "\nGood, `" in section
    }
    assert shown, "no good example is derived"
    assert not shown & linted, f"the base bundle itself reports {shown & linted}"


def test_cli_start_up_never_imports_the_generator() -> None:
    code = (
        "import sys\nsys.argv = ['focalctl', '--help']\nfrom focalctl.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps('focalctl.docsgen' in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", "import json\n" + code],
        cwd=REPO,
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(proc.stdout.strip().splitlines()[-1]) is False


LINK = re.compile(r"\]\(([^)\s]+)\)")


DOC_FILES = ["README.md", "bundle.md", "cli.md", "diagnostics.md"]


@pytest.mark.parametrize("doc", ["README.md", *(f"docs/{n}" for n in DOC_FILES)])
def test_links_stay_in_the_repository_and_resolve(doc: str) -> None:
    path = REPO / doc
    text = path.read_text(encoding="utf-8")
    targets = LINK.findall(text)
    if doc == "README.md":
        assert {"docs/bundle.md", "docs/diagnostics.md", "docs/cli.md"} <= set(targets)
    for target in targets:
        if target.startswith(("http://", "https://")):
            continue
        where, _, fragment = target.partition("#")
        file = (path.parent / where).resolve() if where else path
        assert file.is_relative_to(REPO) and file.exists(), f"{doc}: {target}"
        if fragment and file.suffix == ".md" and file.parent == DOCS:
            body = file.read_text(encoding="utf-8")
            assert f'<a id="{fragment}">' in body or f"### {fragment.upper()}\n" in body, (
                f"{doc}: {target}"
            )
