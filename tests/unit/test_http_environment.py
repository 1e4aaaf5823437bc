"""Azure SDK clients read proxy settings from the environment only when the process has some."""

from __future__ import annotations

import pytest

from callcontrol.adapters.http_environment import transport_options

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def test_without_proxy_settings_the_transport_skips_the_per_request_lookups(
        no_proxy_settings: pytest.MonkeyPatch) -> None:
    assert transport_options() == {"use_env_settings": False}


@pytest.mark.parametrize("name", ["HTTPS_PROXY", "http_proxy", "ALL_PROXY", "no_proxy"])
def test_a_proxy_setting_keeps_the_environment_in_use(
        no_proxy_settings: pytest.MonkeyPatch, name: str) -> None:
    no_proxy_settings.setenv(name, "http://proxy.invalid:3128")
    assert transport_options() == {"use_env_settings": True}
