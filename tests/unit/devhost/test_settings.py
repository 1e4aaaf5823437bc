"""local.settings.json, host.json and host keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devhost import auth
from devhost.errors import SettingsError
from devhost.settings import (
    HostConfig,
    apply_settings,
    read_local_settings,
    read_route_prefix,
)


def _write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_values_are_read_as_strings(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "local.settings.json",
        {"IsEncrypted": False, "Values": {"A": "x", "N": 3, "B": True, "Z": None}},
    )
    assert read_local_settings(path) == {"A": "x", "N": "3", "B": "true"}


def test_environment_wins_over_the_file() -> None:
    environ = {"ALREADY": "from-env"}
    applied = apply_settings({"ALREADY": "from-file", "NEW": "from-file"}, environ)
    assert environ == {"ALREADY": "from-env", "NEW": "from-file"}
    assert applied == ["NEW"]


def test_an_empty_environment_variable_counts_as_unset_like_core_tools() -> None:
    environ = {"ACS_ACCESS_KEY": ""}
    assert apply_settings({"ACS_ACCESS_KEY": "from-file"}, environ) == ["ACS_ACCESS_KEY"]
    assert environ == {"ACS_ACCESS_KEY": "from-file"}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"Values": {"A": {"nested": 1}}}, "Values.A must be a string"),
        ({"Values": ["A"]}, "'Values' must be an object"),
        ({"IsEncrypted": True, "Values": {}}, "IsEncrypted"),
        (["not", "an", "object"], "must contain a JSON object"),
    ],
)
def test_malformed_settings_are_rejected(tmp_path: Path, document: object, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        read_local_settings(_write(tmp_path / "local.settings.json", document))


def test_unreadable_and_invalid_json_settings(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read"):
        read_local_settings(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("{nope", encoding="utf-8")
    with pytest.raises(SettingsError, match="not valid JSON"):
        read_local_settings(tmp_path / "bad.json")


def test_route_prefix_defaults_and_overrides(tmp_path: Path) -> None:
    assert read_route_prefix(tmp_path) == "api"
    _write(tmp_path / "host.json", {"version": "2.0"})
    assert read_route_prefix(tmp_path) == "api"
    _write(tmp_path / "host.json", {"version": "2.0", "extensions": {"http": {"routePrefix": "/v1/"}}})
    assert read_route_prefix(tmp_path) == "v1"
    _write(tmp_path / "host.json", {"extensions": {"http": {"routePrefix": ""}}})
    assert read_route_prefix(tmp_path) == ""
    _write(tmp_path / "host.json", {"extensions": {"http": {"routePrefix": 5}}})
    with pytest.raises(SettingsError, match="routePrefix must be a string"):
        read_route_prefix(tmp_path)


def test_keys_come_from_settings_or_are_generated() -> None:
    given = auth.resolve_keys(
        {"DEVHOST_FUNCTION_KEY": "f", "DEVHOST_MASTER_KEY": "m", "DEVHOST_EVENTGRID_KEY": "e"}
    )
    assert (given.function_key, given.master_key, given.eventgrid_key, given.generated) == (
        "f", "m", "e", frozenset()
    )
    made = auth.resolve_keys({"DEVHOST_FUNCTION_KEY": "f"})
    assert made.generated == {"DEVHOST_MASTER_KEY", "DEVHOST_EVENTGRID_KEY"}
    assert len(made.eventgrid_key) >= 32 and made.eventgrid_key != made.master_key
    assert len(made.master_key) >= 32
    assert made.master_key != auth.resolve_keys({}).master_key
    secret = auth.resolve_keys({"DEVHOST_FUNCTION_KEY": "fn-secret", "DEVHOST_MASTER_KEY": "master-secret"})
    assert "secret" not in repr(secret)


def test_auth_levels() -> None:
    keys = auth.resolve_keys({"DEVHOST_FUNCTION_KEY": "f", "DEVHOST_MASTER_KEY": "m"})
    assert auth.is_authorized("anonymous", None, keys)
    assert auth.is_authorized("function", "f", keys) and auth.is_authorized("function", "m", keys)
    assert not auth.is_authorized("function", None, keys) and not auth.is_authorized("function", "x", keys)
    assert auth.is_authorized("admin", "m", keys) and not auth.is_authorized("admin", "f", keys)
    assert auth.presented_key({"x-functions-key": "h"}, {"code": "q"}) == "h"
    assert auth.presented_key({}, {"code": "q"}) == "q"
    assert auth.presented_key({}, {}) is None


def test_system_and_master_keys() -> None:
    keys = auth.resolve_keys(
        {"DEVHOST_FUNCTION_KEY": "f", "DEVHOST_MASTER_KEY": "m", "DEVHOST_EVENTGRID_KEY": "e"}
    )
    assert auth.opens_eventgrid_webhook("e", keys) and auth.opens_eventgrid_webhook("m", keys)
    assert not auth.opens_eventgrid_webhook("f", keys) and not auth.opens_eventgrid_webhook(None, keys)
    assert auth.is_master("m", keys) and not auth.is_master("e", keys) and not auth.is_master(None, keys)
    # A header byte outside ASCII arrives as a lone surrogate: a wrong key, never an exception.
    assert not auth.is_authorized("function", "\udce9", keys)
    assert not auth.opens_eventgrid_webhook("\ud800", keys)


def test_config_from_environ(tmp_path: Path) -> None:
    _write(tmp_path / "host.json", {"extensions": {"http": {"routePrefix": "x"}}})
    config = HostConfig.from_environ(
        tmp_path, {"PYTHON_THREADPOOL_THREAD_COUNT": "3", "DEVHOST_MASTER_KEY": "m"}
    )
    assert (config.route_prefix, config.max_workers, config.keys.master_key) == ("x", 3, "m")
    with pytest.raises(SettingsError, match="PYTHON_THREADPOOL_THREAD_COUNT"):
        HostConfig.from_environ(tmp_path, {"PYTHON_THREADPOOL_THREAD_COUNT": "0"})
