"""Host configuration: local.settings.json `Values`, host.json's route prefix and the host keys.

Mirrors Core Tools: `Values` are copied into the process environment before the app is imported, and
a variable that is already set wins, so a developer can override one setting from the shell.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from devhost.auth import HostKeys, resolve_keys
from devhost.errors import SettingsError

DEFAULT_ROUTE_PREFIX: Final = "api"
THREAD_COUNT_SETTING: Final = "PYTHON_THREADPOOL_THREAD_COUNT"


def read_local_settings(path: Path) -> dict[str, str]:
    """Return the `Values` of a local.settings.json file as strings.

    Scalars are turned into strings the way Core Tools does; nested objects, arrays and an encrypted
    file are rejected with the offending key named.
    """
    document = _read_json_object(path)
    if document.get("IsEncrypted") is True:
        raise SettingsError(f"{path}: IsEncrypted is true; devhost reads only plain-text settings")
    values = document.get("Values", {})
    if not isinstance(values, dict):
        raise SettingsError(f"{path}: 'Values' must be an object of name -> string")
    settings: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            settings[name] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            settings[name] = str(value)
        else:
            raise SettingsError(f"{path}: Values.{name} must be a string, got {type(value).__name__}")
    return settings


def apply_settings(values: Mapping[str, str], environ: MutableMapping[str, str]) -> list[str]:
    """Copy `values` into `environ` without overriding what is already set; return the names applied.

    Like Core Tools, a variable that is set but empty counts as unset, so the file's value applies.
    """
    applied = []
    for name, value in values.items():
        if not environ.get(name):
            environ[name] = value
            applied.append(name)
    return applied


def read_route_prefix(root: Path) -> str:
    """Return host.json's `extensions.http.routePrefix`, "api" when the file or the key is absent."""
    path = root / "host.json"
    if not path.exists():
        return DEFAULT_ROUTE_PREFIX
    document = _read_json_object(path)
    extensions = document.get("extensions", {})
    http = extensions.get("http", {}) if isinstance(extensions, dict) else {}
    prefix = http.get("routePrefix", DEFAULT_ROUTE_PREFIX) if isinstance(http, dict) else DEFAULT_ROUTE_PREFIX
    if not isinstance(prefix, str):
        raise SettingsError(f"{path}: extensions.http.routePrefix must be a string")
    return prefix.strip("/")


@dataclass(frozen=True)
class HostConfig:
    """Everything the server needs besides the FunctionApp itself."""

    route_prefix: str = DEFAULT_ROUTE_PREFIX
    keys: HostKeys = field(default_factory=lambda: resolve_keys({}))
    function_directory: Path = field(default_factory=Path.cwd)
    max_workers: int | None = None  # None = the executor's default, like the worker's
    # App settings as the host sees them (the merged environment): `%Name%` in a timer schedule and
    # WEBSITE_TIME_ZONE are read from here.
    app_settings: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False, hash=False)

    @classmethod
    def from_environ(cls, root: Path, environ: Mapping[str, str] | None = None) -> HostConfig:
        """Build the config from host.json under `root` and the (already merged) environment."""
        env = os.environ if environ is None else environ
        return cls(
            route_prefix=read_route_prefix(root),
            keys=resolve_keys(env),
            function_directory=root,
            max_workers=_read_thread_count(env),
            app_settings=dict(env),
        )


def _read_thread_count(environ: Mapping[str, str]) -> int | None:
    raw = environ.get(THREAD_COUNT_SETTING)
    if raw is None or raw == "":
        return None
    try:
        count = int(raw)
    except ValueError:
        raise SettingsError(f"{THREAD_COUNT_SETTING} must be a positive integer, got {raw!r}") from None
    if count < 1:
        raise SettingsError(f"{THREAD_COUNT_SETTING} must be a positive integer, got {raw!r}")
    return count


def _read_json_object(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise SettingsError(f"{path} must contain a JSON object")
    return document
