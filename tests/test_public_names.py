"""Each package's public names are its ``__all__`` (as httpx pins its exports), and code outside
a package reaches it only through them: never through a private module (``_wire``), nor
through the modules the issue named as internal (``focalctl.store.db``,
``focalctl.diagnostics.model``)."""

from __future__ import annotations

import ast
import importlib
import types

import pytest

from tests.conftest import REPO

PACKAGES = [
    "focalctl.bundle",
    "focalctl.diagnostics",
    "focalctl.store",
    "focalctl.partial",
    "focalctl.publish",
    "focalctl.plan",
    "focalctl.simulate",
    "focalctl.lint",
    "runtime.snapshot",
    "runtime.ports",
    "runtime.sources",
    "runtime.server",
    "runtime.brain",
    "runtime.agenda",
    "runtime.channels",
    "runtime.offerings",
    "runtime.tools",
    "runtime.turns",
]
INTERNAL = {
    "focalctl.store.db": "focalctl.store",
    "focalctl.diagnostics.model": "focalctl.diagnostics",
}


@pytest.mark.parametrize("name", PACKAGES)
def test_a_package_exports_exactly_its_all(name: str) -> None:
    package = importlib.import_module(name)
    exported = set(package.__all__)
    assert all(hasattr(package, n) for n in exported), exported - set(dir(package))
    # what the package itself defines (classes, functions) is public unless underscored;
    # names it imports for its own use are not exports
    defined = {
        n
        for n, value in vars(package).items()
        if not n.startswith("_")
        and not isinstance(value, types.ModuleType)
        and getattr(value, "__module__", None) == name
    }
    assert defined <= exported, (
        f"{name} defines public names outside __all__: {sorted(defined - exported)}"
    )


def _imports(tree: ast.AST) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
        elif isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
    return out


def test_no_module_reaches_past_a_packages_public_names() -> None:
    found = []
    files = sorted([*(REPO / "focalctl").rglob("*.py"), *(REPO / "runtime").rglob("*.py")])
    assert files
    for path in files:
        module = ".".join(path.relative_to(REPO).with_suffix("").parts)
        for target in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            parts = target.split(".")
            if parts[0] not in ("focalctl", "runtime"):
                continue  # other projects' layouts are theirs
            private = next((i for i, p in enumerate(parts) if p.startswith("_")), None)
            if private is not None:
                owner = ".".join(parts[:private])
                if not module.startswith(owner + "."):
                    found.append(f"{module} imports {target}")
            owner = INTERNAL.get(target)
            if owner and not module.startswith(owner + "."):
                found.append(f"{module} imports {target} (use {owner})")
    assert not found, "\n".join(found)
