"""Import the FunctionApp named by `module:attribute`, with the app root importable like the host's."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from devhost.errors import AppLoadError


def load_app(spec: str, root: Path) -> Any:
    """Import `module:attribute` (attribute defaults to `app`) with `root` first on sys.path."""
    module_name, _, attribute = spec.partition(":")
    attribute = attribute or "app"
    if not module_name:
        raise AppLoadError(f"--app {spec!r}: expected module:attribute, e.g. function_app:app")
    root_text = str(root.resolve())
    if root_text not in sys.path:
        sys.path.insert(0, root_text)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise AppLoadError(f"cannot import {module_name!r} from {root_text}: {exc}") from exc
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise AppLoadError(f"module {module_name!r} has no attribute {attribute!r}")
        target = getattr(target, part)
    if not callable(getattr(target, "get_functions", None)):
        raise AppLoadError(f"{spec} is a {type(target).__name__}, not an azure.functions.FunctionApp")
    return target
