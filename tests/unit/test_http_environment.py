"""Azure SDK clients read proxy settings from the environment only when the process has some."""

from __future__ import annotations

import base64

import pytest
from azure.core.pipeline.transport import AioHttpTransport

from callcontrol.adapters.acs_gateway import connect_gateway
from callcontrol.adapters.eventgrid_publisher import connect_publisher
from callcontrol.adapters.http_environment import transport_options
from callcontrol.adapters.store.azure_tables import connect_tables

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


def _transport_of(client: object, depth: int = 0, seen: set[int] | None = None) -> AioHttpTransport | None:
    """The aiohttp transport somewhere inside an SDK client (its pipeline is private)."""
    seen = seen if seen is not None else set()
    if isinstance(client, AioHttpTransport):
        return client
    if id(client) in seen or depth > 6:
        return None
    seen.add(id(client))
    for value in getattr(client, "__dict__", {}).values():
        found = _transport_of(value, depth + 1, seen)
        if found is not None:
            return found
    return None


def _clients() -> dict[str, object]:
    """Every Azure SDK client the app builds, as it builds them (the adapters' connect_*)."""
    key = base64.b64encode(b"k" * 32).decode()
    return {
        "tables": connect_tables(connection_string=(
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            f"AccountKey={key};TableEndpoint=http://127.0.0.1:1/devstoreaccount1")),
        "acs": connect_gateway("http://127.0.0.1:1", access_key=key, callback_url="http://127.0.0.1:2/cb",
                               timeout_seconds=5),
        "eventgrid": connect_publisher("http://127.0.0.1:1/api/events", access_key=key,
                                       token_credential=None, timeout_seconds=5),
    }


@pytest.mark.parametrize("proxy", [None, "http://proxy.invalid:3128"])
async def test_every_sdk_client_the_app_builds_follows_the_setting(
        no_proxy_settings: pytest.MonkeyPatch, proxy: str | None) -> None:
    if proxy is not None:
        no_proxy_settings.setenv("HTTPS_PROXY", proxy)
    clients = _clients()
    try:
        used = {name: getattr(_transport_of(client), "_use_env_settings", "no transport found")
                for name, client in clients.items()}
        assert used == {name: proxy is not None for name in clients}
    finally:
        for client in clients.values():
            await client.close()  # type: ignore[attr-defined]
