"""The deployment package is exactly the app: what `azd deploy` and `func publish` would zip.

Both read `.funcignore` with gitignore semantics (azd since it honours `.funcignore` instead of its
own default excludes; Core Tools always has) and always leave out `local.settings.json`. The list
is built here from the working tree as it is on disk, untracked and ignored-by-git folders
included (`.venv-checkov/` made by `make bootstrap`, a scratch folder, a symlinked venv), because
that is what the packager walks. The assertions are on the principle, not on a file list: the
app's own packages are in, every development tree is out, and the whole stays within a budget.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pathspec

from tests.unit.infra.bicep_model import REPO_ROOT

FUNCIGNORE = REPO_ROOT / ".funcignore"

# The app: what function_app.py imports and what the Functions host reads.
APP_FILES = {"function_app.py", "host.json", "requirements.txt"}
APP_PACKAGES = {"callcontrol", "handlers", "commands"}  # commands: reindex runs where the app runs
# Trees and files that exist for development only (local stack, tests, tooling, infra, docs).
DEV_ONLY_TOP = {
    "tests", "emulator", "devhost", "console", "bench", "tools", "logformat", "docs", "infra", "node_modules",
    ".venv", ".venv-checkov", ".run", ".azurite", ".azure", ".git", ".ci", ".vscode",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis", ".import_linter_cache",
    "Makefile", "azure.yaml", "pyproject.toml", "requirements-dev.txt",
    "requirements-checkov.txt", "package.json", "package-lock.json", "redocly.yaml",
    "local.settings.json", "local.settings.example.json", "README.md", ".funcignore",
    ".gitignore",
}
ALWAYS_EXCLUDED = {"local.settings.json"}  # by azd and func, whatever .funcignore says
# The app is about half a megabyte of source; a venv or node_modules is hundreds of megabytes.
SIZE_BUDGET_BYTES = 2 * 1024 * 1024
FILE_BUDGET = 400


def package_files(root: Path, ignore_lines: Iterable[str]) -> dict[str, int]:
    """Relative path -> size of every file the packager would zip from `root`.

    A directory that matches is not entered (gitignore cannot re-include below an excluded
    directory); a symlinked directory that does not match is followed, as a zip tool reads it.
    A dangling symlink counts as a file of its link's size.
    """
    spec = pathspec.GitIgnoreSpec.from_lines(list(ignore_lines))
    found: dict[str, int] = {}
    for directory, subdirectories, files in os.walk(root, followlinks=True):
        here = Path(directory).relative_to(root)
        subdirectories[:] = sorted(
            name for name in subdirectories
            if not spec.match_file((here / name).as_posix() + "/")
        )
        for name in files:
            relative = (here / name).as_posix()
            if name in ALWAYS_EXCLUDED or spec.match_file(relative):
                continue
            path = Path(directory) / name
            found[relative] = path.stat().st_size if path.exists() else path.lstat().st_size
    return found


def problems(files: dict[str, int], app_sources: set[str]) -> list[str]:
    """What is wrong with a package: dev-only content, missing app files, over budget."""
    found = []
    for relative in sorted(files):
        parts = relative.split("/")
        if parts[0] in DEV_ONLY_TOP or parts[0].startswith(".venv"):
            found.append(f"ships dev-only {relative}")
        elif parts[0] not in APP_PACKAGES and relative not in APP_FILES:
            found.append(f"ships {relative}, which is not part of the app")
        elif "__pycache__" in parts or relative.endswith(".pyc"):
            found.append(f"ships compiled {relative}")
    found += [f"misses {name}" for name in sorted(APP_FILES | app_sources) if name not in files]
    total = sum(files.values())
    if total > SIZE_BUDGET_BYTES:
        found.append(f"{total} bytes, over the {SIZE_BUDGET_BYTES} byte budget")
    if len(files) > FILE_BUDGET:
        found.append(f"{len(files)} files, over the {FILE_BUDGET} file budget")
    return found


def app_sources(root: Path) -> set[str]:
    """Every Python module and data file of the app's packages on disk."""
    return {
        path.relative_to(root).as_posix()
        for package in APP_PACKAGES
        for path in (root / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def test_the_package_is_exactly_the_app() -> None:
    files = package_files(REPO_ROOT, FUNCIGNORE.read_text().splitlines())
    assert problems(files, app_sources(REPO_ROOT)) == []
    assert {relative.split("/")[0] for relative in files} == APP_FILES | APP_PACKAGES


def test_the_package_imports_on_its_own(tmp_path: Path) -> None:
    # Nothing the app imports lives outside the package (tests/, tools/, devhost/ ...): a copy of
    # just the packaged files indexes the function app.
    for relative in package_files(REPO_ROOT, FUNCIGNORE.read_text().splitlines()):
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO_ROOT / relative, target)
    script = ("import sys; sys.path.insert(0, ''); import function_app; "
              "assert function_app.app.get_functions(); "
              "print(sorted({m.split('.')[0] for m in sys.modules} & "
              f"set({sorted(DEV_ONLY_TOP)!r})))")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([sys.executable, "-I", "-c", script], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "[]"


def test_the_check_catches_a_local_venv_and_a_stray_folder(tmp_path: Path) -> None:
    # The check must be able to fail: with the old deny-list .funcignore (which named .venv but
    # not .venv-checkov), a bootstrap venv and an unlisted scratch folder would ship.
    for relative, size in (("function_app.py", 10), ("host.json", 10), ("requirements.txt", 10),
                           ("callcontrol/__init__.py", 10), ("handlers/__init__.py", 10),
                           (".venv-checkov/lib/big.so", SIZE_BUDGET_BYTES),
                           ("scratch/notes.txt", 10), ("local.settings.json", 10),
                           ("callcontrol/__pycache__/x.cpython-311.pyc", 10)):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * size)
    old = [".git*", ".venv", "__pycache__", "local.settings.json", "tests", "docs"]
    files = package_files(tmp_path, old)
    found = problems(files, app_sources(tmp_path))
    assert "ships dev-only .venv-checkov/lib/big.so" in found
    assert "ships scratch/notes.txt, which is not part of the app" in found
    assert any("over the" in problem for problem in found)
    assert "local.settings.json" not in files  # excluded whatever the ignore file says
    # The project's .funcignore lets in only the app.
    files = package_files(tmp_path, FUNCIGNORE.read_text().splitlines())
    assert sorted(files) == ["callcontrol/__init__.py", "function_app.py", "handlers/__init__.py",
                             "host.json", "requirements.txt"]
    assert problems(files, app_sources(tmp_path) - {"callcontrol/__pycache__/x.cpython-311.pyc"}
                    ) == []
