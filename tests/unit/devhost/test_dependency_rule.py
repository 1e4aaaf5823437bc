"""devhost loads the app like the real host does: it never imports the app's own packages."""

from __future__ import annotations

import ast
from pathlib import Path

import devhost

FORBIDDEN = ("callcontrol", "handlers", "emulator", "function_app", "tests")


def _imported_modules(source: Path) -> set[str]:
    tree = ast.parse(source.read_text(encoding="utf-8"))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_devhost_imports_nothing_from_the_app() -> None:
    package = Path(devhost.__file__).parent
    sources = sorted(package.glob("*.py"))
    assert len(sources) > 5
    offending = {
        f"{source.name}: {module}"
        for source in sources
        for module in _imported_modules(source)
        if module.split(".")[0] in FORBIDDEN
    }
    assert offending == set()
